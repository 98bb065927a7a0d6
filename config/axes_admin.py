"""The admin of axes' failed-login records with Chinese columns and messages.

axes labels two columns by their method names ("Expiration", "Status") and builds its clean-up
message with an f-string inside gettext, which no catalogue can translate; the rest of its text
is translated by ``locale/zh_Hans``."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.conf import settings as axes_settings
from axes.models import AccessAttempt
from django.contrib import admin
from django.http import HttpRequest


class ChineseAccessAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description="过期时间")
    def expiration(self, obj: AccessAttempt) -> Any:
        return super().expiration(obj)

    @admin.display(description="状态")
    def status(self, obj: AccessAttempt) -> str:
        limit = axes_settings.AXES_FAILURE_LIMIT
        if obj.failures_since_start < limit:
            return f"还可尝试 {limit - obj.failures_since_start} 次"
        return "已锁定"

    @admin.action(description="清除已过期的失败记录")
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: Any) -> None:
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, f"已清除 {count} 条过期的失败记录。")


def register() -> None:
    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, ChineseAccessAttemptAdmin)
