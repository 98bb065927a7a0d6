"""Staff sign-in (with django-axes lock-out), sign-out and the profile page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets.lockout import address_throttled
from tickets.models import Role
from tickets.selectors import user_department_ids, user_role

LOCKED_MESSAGE = "登录失败次数过多，该账号已暂时锁定，请 {minutes} 分钟后再试，或联系管理员解锁。"
THROTTLED_MESSAGE = "本网络登录失败次数过多，每 {seconds} 秒只能尝试一次，请稍后再试。"


def _cooloff_minutes() -> int:
    hours = float(getattr(settings, "AXES_COOLOFF_TIME", 0.25) or 0.25)
    return max(1, round(hours * 60))


class StaffAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码不正确。请注意：连续多次失败后账号会被暂时锁定。",
        "inactive": "该账号已停用。",
    }


class StaffLoginView(auth_views.LoginView):
    template_name = "inbox/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if getattr(self.request, "axes_locked_out", False):
            # Answer the lock-out ourselves, in Chinese, on the login page; clearing the flag
            # keeps AxesMiddleware from replacing this page with its English default.
            self.request.axes_locked_out = False  # type: ignore[attr-defined]
            return lockout_response(self.request)
        return super().form_invalid(form)

    def get_default_redirect_url(self) -> str:
        return "/inbox/"


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The lock-out page (also usable as ``AXES_LOCKOUT_CALLABLE``)."""
    form = StaffAuthenticationForm(request)
    if address_throttled(request):
        seconds = int(getattr(settings, "LOGIN_IP_THROTTLE_SECONDS", 30))
        message = THROTTLED_MESSAGE.format(seconds=seconds)
    else:
        message = LOCKED_MESSAGE.format(minutes=_cooloff_minutes())
    return render(
        request, "inbox/login.html", {"form": form, "locked_message": message}, status=429
    )


class StaffLogoutView(auth_views.LogoutView):
    next_page = "/inbox/login/"


View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Signed in and with a Minsheng role; anyone else is sent to sign in or refused."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if user_role(request.user) is None:
            return render(request, "inbox/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    role = user_role(user)
    staff_profile = getattr(user, "staff_profile", None)
    department = staff_profile.department if staff_profile else None
    return render(
        request,
        "inbox/profile.html",
        {
            "role_label": Role(role).label if role in Role.values else "",
            "department": department,
            "department_path": _department_path(department),
            "sees_all": user_department_ids(user) is None,
        },
    )


def _department_path(department: Any) -> str:
    names = []
    while department is not None:
        names.append(department.name)
        department = department.parent
    return " / ".join(reversed(names))
