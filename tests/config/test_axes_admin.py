"""The staff login lock-out (django-axes) reads in Chinese in the admin."""

from __future__ import annotations

import re
from typing import Any

from axes.models import AccessAttempt, AccessLog
from django.test import Client

ENGLISH = ("Axes", "Access attempts", "Attempt Time", "IP Address", "Failed Logins", "Status")


def admin_client(cast: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(cast["admin"])
    return client


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))


def test_the_admin_index_names_the_login_lock_out_in_chinese(cast: dict[str, Any]) -> None:
    text = visible_text(admin_client(cast).get("/admin/").content.decode())
    assert "登录保护" in text and "登录失败记录" in text and "登录日志" in text
    assert "Axes" not in text and "Access attempts" not in text


def test_the_failed_login_list_has_chinese_columns_and_status(cast: dict[str, Any]) -> None:
    AccessAttempt.objects.create(
        username="handler_a",
        ip_address="127.0.0.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/inbox/login/",
        get_data="",
        post_data="",
        failures_since_start=2,
    )
    AccessAttempt.objects.create(
        username="dispatcher",
        ip_address="127.0.0.2",
        user_agent="test",
        http_accept="*/*",
        path_info="/inbox/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )
    text = visible_text(admin_client(cast).get("/admin/axes/accessattempt/").content.decode())
    for column in ("尝试时间", "IP 地址", "浏览器标识", "用户名", "访问路径", "失败次数", "状态"):
        assert column in text, column
    assert "还可尝试 3 次" in text and "已锁定" in text
    assert "清除已过期的失败记录" in text
    for english in ENGLISH:
        assert english not in text, english


def test_the_login_log_has_chinese_columns(cast: dict[str, Any]) -> None:
    AccessLog.objects.create(
        username="handler_a",
        ip_address="127.0.0.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/inbox/login/",
    )
    text = visible_text(admin_client(cast).get("/admin/axes/accesslog/").content.decode())
    assert "登录日志" in text and "退出时间" in text and "尝试时间" in text
    assert "Logout Time" not in text
