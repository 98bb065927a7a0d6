"""Chinese error pages in the site's style (DEBUG off, as in production). The 500 page renders
with no database and no request context: ``handler500`` gets neither."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import loader
from django.test import Client, RequestFactory
from django.views import defaults

pytestmark = pytest.mark.urls("tests.config.error_urls")

SITE_STYLE = '<link rel="stylesheet" href="/static/website/site.css">'
ICON = '<link rel="icon" href="/favicon.ico">'


def page(response: Any) -> str:
    html = response.content.decode("utf-8")
    assert SITE_STYLE in html and ICON in html and '<html lang="zh-Hans">' in html
    assert "返回首页" in html
    return html


@pytest.fixture(autouse=True)
def production(settings: Any) -> None:
    settings.DEBUG = False


def test_it_answers_an_unknown_address_with_the_chinese_404(db: None) -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    html = page(response)
    assert "页面不存在" in html and "/no-such-page/" in html
    assert "Not Found" not in html


def test_it_shows_the_address_only_escaped(db: None) -> None:
    html = page(Client().get("/<script>x</script>/"))
    assert "<script>x" not in html and "/%3Cscript%3Ex%3C/script%3E/" in html
    html = page(Client().get("/a%22%3E%3Cb%3E/"))
    assert '"><b>' not in html


def test_it_answers_a_forbidden_action_with_the_chinese_403(db: None) -> None:
    response = Client().get("/boom/forbidden/")
    assert response.status_code == 403
    html = page(response)
    assert "没有访问权限" in html and "403 Forbidden" not in html


def test_it_answers_an_expired_form_with_the_chinese_csrf_page(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/track/", {"case_no": "1"})
    assert response.status_code == 403
    html = page(response)
    assert "页面已过期" in html and "CSRF" not in html


def test_it_answers_a_malformed_request_with_the_chinese_400(db: None) -> None:
    response = Client().get("/boom/suspicious/")
    assert response.status_code == 400
    assert "请求有误" in page(response)


def test_it_answers_a_database_outage_with_the_chinese_503_and_a_retry_time(db: None) -> None:
    # A database outage is not a crash: 503 with Retry-After (config.middleware), never a 500.
    response = Client(raise_request_exception=False).get("/boom/database-down/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    html = page(response)
    assert "系统暂时无法访问" in html and "12345" in html
    assert "OperationalError" not in html and "5432" not in html


def test_it_answers_a_crash_with_the_chinese_500(db: None) -> None:
    response = Client(raise_request_exception=False).get("/boom/crash/")
    assert response.status_code == 500
    html = page(response)
    assert "系统暂时出现问题" in html and "12345" in html
    assert "RuntimeError" not in html and "secret detail" not in html


def test_handler500_renders_with_no_database_and_no_request_context() -> None:
    # No ``db`` fixture: any query here would fail the test ("Database access not allowed").
    response = defaults.server_error(RequestFactory().get("/anything/"))
    assert response.status_code == 500
    assert "系统暂时出现问题" in page(response)
    # What handler500 does, with nothing at all: the template needs no context.
    assert "系统暂时出现问题" in loader.get_template("500.html").render()


def test_the_site_icon_is_served_where_browsers_look_for_it(db: None) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in response["Cache-Control"]
    touch = Client().get("/apple-touch-icon.png")
    assert touch.status_code == 200 and touch.content[:8] == b"\x89PNG\r\n\x1a\n"
