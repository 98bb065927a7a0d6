"""Browser-side defences in the settings (issue 13, item 7): production turns on HSTS (on
HTTPS requests) and Secure cookies by default, and the CSP everywhere; the demo of `make run`
(plain http on loopback) keeps its cookies usable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.test import Client


def test_it_sends_hsts_on_https_and_secure_cookies_in_production(
    client: Client, cast: dict[str, Any]
) -> None:
    assert settings.PRODUCTION  # the test settings are production's (no DEBUG, no DEMO)
    secure = client.get("/track/", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/track/")  # never over plain http
    login = client.post(
        "/inbox/login/", {"username": "dispatcher", "password": "pw-dispatcher"}, secure=True
    )
    assert login.status_code == 302
    assert login.cookies["sessionid"]["secure"] is True
    assert login.cookies["sessionid"]["httponly"] is True
    assert client.get("/track/").cookies["csrftoken"]["secure"] is True


def _settings_in(environment: dict[str, str]) -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " bool(getattr(s, 'CONTENT_SECURITY_POLICY', None))]))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DEBUG", "DEMO", "SECURE_COOKIES", "HSTS_SECONDS", "CSP")
    }
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x" * 50, **environment}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    secure, csrf, hsts, csp = json.loads(out.stdout.strip().splitlines()[-1])
    return {"secure": secure, "csrf": csrf, "hsts": hsts, "csp": csp}


def test_production_turns_every_defence_on_and_the_demo_keeps_http_usable() -> None:
    assert _settings_in({}) == {"secure": True, "csrf": True, "hsts": 31536000, "csp": True}
    # `make run` serves plain http on 127.0.0.1: Secure cookies would never come back.
    assert _settings_in({"DEMO": "1"}) == {"secure": False, "csrf": False, "hsts": 0, "csp": True}
    assert _settings_in({"SECURE_COOKIES": "0", "CSP": "0"})["secure"] is False
    assert _settings_in({"CSP": "0"})["csp"] is False
