"""Staff sign-in with lock-out, sign-out, and the profile page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone


@pytest.mark.django_db
def test_it_shows_the_login_page_in_chinese(client: Client) -> None:
    response = client.get("/inbox/login/")
    assert response.status_code == 200
    assert "工作台" in response.content.decode() and "密码" in response.content.decode()


def test_it_signs_a_dispatcher_in_and_lands_on_the_queue(
    client: Client, cast: dict[str, Any]
) -> None:
    response = client.post("/inbox/login/", {"username": "dispatcher", "password": "pw-dispatcher"})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200


def test_it_says_in_chinese_when_the_password_is_wrong(
    client: Client, cast: dict[str, Any]
) -> None:
    response = client.post("/inbox/login/", {"username": "dispatcher", "password": "nope"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_it_locks_the_account_after_five_failures(client: Client, cast: dict[str, Any]) -> None:
    for _ in range(5):
        client.post("/inbox/login/", {"username": "dispatcher", "password": "wrong"})
    response = client.post("/inbox/login/", {"username": "dispatcher", "password": "pw-dispatcher"})
    body = response.content.decode()
    assert response.status_code == 429
    assert "已暂时锁定" in body and "15 分钟" in body
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not locked.
    other = client.post("/inbox/login/", {"username": "handler_a", "password": "pw-handler_a"})
    assert other.status_code == 302


@pytest.mark.django_db
def test_it_sends_an_anonymous_visitor_to_the_login_page(client: Client) -> None:
    for url in ("/inbox/", "/inbox/profile/", "/inbox/tickets/20260101000001/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/inbox/login/?next=")


def test_it_refuses_a_user_without_a_role(cast: dict[str, Any]) -> None:
    client = Client()
    client.force_login(cast["outsider"])
    response = client.get("/inbox/")
    assert response.status_code == 403
    assert "没有使用工单系统的权限" in response.content.decode()


def test_it_shows_the_department_and_role_on_the_profile(client_for: Any) -> None:
    body = client_for("handler_a1").get("/inbox/profile/").content.decode()
    assert "承办人" in body
    assert "青山区 / 城管局 / 市容科" in body
    assert "本部门及下属部门" in body
    assert "全部工单" in client_for("dispatcher").get("/inbox/profile/").content.decode()


def test_it_signs_out(client_for: Any) -> None:
    client = client_for("dispatcher")
    response = client.post("/inbox/logout/")
    assert response.status_code == 302
    assert client.get("/inbox/").status_code == 302


def test_it_throttles_an_address_that_sprays_one_password_over_many_accounts(
    client: Client, cast: dict[str, Any], settings: Any
) -> None:
    """Password spraying (issue 13, item 8): a few tries for each of many usernames never
    trips the per-account limit, but after LOGIN_IP_FAILURE_LIMIT the address may try only
    once every LOGIN_IP_THROTTLE_SECONDS, a correct password included; then it gets in."""
    settings.LOGIN_IP_FAILURE_LIMIT = 12
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for index in range(12):  # 12 accounts, one guess each: no account reaches 5
            client.post("/inbox/login/", {"username": f"user{index}", "password": "Spring2026!"})
        refused = client.post(
            "/inbox/login/", {"username": "dispatcher", "password": "pw-dispatcher"}
        )
        assert refused.status_code == 429
        assert "本网络登录失败次数过多，每 30 秒只能尝试一次" in refused.content.decode()
        other = Client(REMOTE_ADDR="10.9.8.7")  # another address is not throttled
        good = {"username": "dispatcher", "password": "pw-dispatcher"}
        assert other.post("/inbox/login/", good).status_code == 302
    with time_machine.travel(start + dt.timedelta(seconds=31), tick=False):
        assert client.post("/inbox/login/", good).status_code == 302  # the pause has passed


def test_it_counts_logins_by_the_client_behind_the_proxy(
    client: Client, cast: dict[str, Any], settings: Any
) -> None:
    """Behind the reverse proxy (NUM_PROXIES=1) the address is the client's, from
    X-Forwarded-For: one sprayer does not throttle every colleague behind the proxy."""
    settings.LOGIN_IP_FAILURE_LIMIT = 6
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    sprayer = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for index in range(6):
        client.post(
            "/inbox/login/",
            {"username": f"u{index}", "password": "x"},
            **sprayer,  # type: ignore[arg-type]
        )
    good = {"username": "dispatcher", "password": "pw-dispatcher"}
    assert client.post("/inbox/login/", good, **sprayer).status_code == 429  # type: ignore[arg-type]
    colleague = Client(HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert colleague.post("/inbox/login/", good).status_code == 302


def test_a_very_long_username_is_refused_not_a_500(client: Client, cast: dict[str, Any]) -> None:
    for path in ("/inbox/login/", "/admin/login/"):
        response = client.post(path, {"username": "x" * 5000, "password": "y"})
        assert response.status_code == 200, path
