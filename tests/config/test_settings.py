"""Settings come from the environment: each case starts Django in a fresh interpreter with
exactly the environment given, and reads back what the settings became."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

PROJECT_ROOT = Path(settings.BASE_DIR)
REAL_KEY = "k3y-for-the-settings-test-7f4c2a9e1b6d8053aa91c0de"

PROBE = """
import json, django
from django.conf import settings
django.setup()
import sentry_sdk
from channels.layers import get_channel_layer
from django.core.cache import caches
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "DATABASE": {k: str(v) for k, v in settings.DATABASES["default"].items() if k != "OPTIONS"},
    "DATABASE_OPTIONS": settings.DATABASES["default"].get("OPTIONS", {}),
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
    "CACHE_CLASS": type(caches["default"]).__name__,
    "CHANNEL_BACKEND": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "CHANNEL_CLASS": type(get_channel_layer()).__name__,
    "TIME_ZONE": settings.TIME_ZONE,
    "USE_TZ": settings.USE_TZ,
    "LANGUAGE_CODE": settings.LANGUAGE_CODE,
    "LANGUAGES": [code for code, _ in settings.LANGUAGES],
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENVIRONMENT": settings.ENVIRONMENT,
    "SENTRY_ACTIVE": sentry_sdk.get_client().is_active(),
    "SENTRY_OPTIONS": {
        k: sentry_sdk.get_client().options.get(k) for k in ("environment", "release")
    },
}))
"""


def run_django(env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    """Start Django with only ``env`` (plus PATH/HOME) in a new interpreter."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(var_dir)),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MINSHENG_VAR_DIR": str(var_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_for(env: dict[str, str], var_dir: Path) -> dict[str, Any]:
    result = run_django(env, var_dir)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path: Path) -> None:
    result = run_django({}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("short-key", id="short"),
        pytest.param("django-insecure-" + "x" * 40, id="placeholder"),
        pytest.param("a" * 31, id="31-characters"),
    ],
)
def test_it_refuses_a_weak_secret_key_when_debug_is_off(key: str, tmp_path: Path) -> None:
    result = run_django({"SECRET_KEY": key, "DEBUG": "0"}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_it_starts_in_debug_without_a_key(tmp_path: Path) -> None:
    data = settings_for({"DEBUG": "1"}, tmp_path)
    assert data["DEBUG"] is True
    assert data["SECRET_KEY"].startswith("django-insecure-")
    assert data["ENVIRONMENT"] == "development"


def test_it_starts_in_production_with_a_real_key(tmp_path: Path) -> None:
    data = settings_for({"SECRET_KEY": REAL_KEY}, tmp_path)
    assert data["DEBUG"] is False
    assert data["SECRET_KEY"] == REAL_KEY
    assert data["ENVIRONMENT"] == "production"


def test_it_reads_the_key_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text(REAL_KEY + "\n")
    data = settings_for({"SECRET_KEY_FILE": str(key_file)}, tmp_path)
    assert data["SECRET_KEY"] == REAL_KEY


def test_it_runs_embedded_by_default(tmp_path: Path) -> None:
    """No DATABASE_URL, no REDIS_URL, no SENTRY_DSN: SQLite under var/, in-memory layers."""
    var_dir = tmp_path / "var"
    data = settings_for({"SECRET_KEY": REAL_KEY}, var_dir)
    assert data["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(data["DATABASE"]["NAME"]) == var_dir / "minsheng.sqlite3"
    assert var_dir.is_dir()
    assert data["DATABASE_OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert data["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert data["CACHE_CLASS"] == "LocMemCache"
    assert data["CHANNEL_BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert data["CHANNEL_CLASS"] == "InMemoryChannelLayer"
    assert data["SENTRY_ACTIVE"] is False


def test_it_uses_postgres_and_redis_when_configured(tmp_path: Path) -> None:
    data = settings_for(
        {
            "SECRET_KEY": REAL_KEY,
            "DATABASE_URL": "postgres://minsheng:pw@db.example.invalid:5432/minsheng",
            "REDIS_URL": "redis://redis.example.invalid:6379/0",
        },
        tmp_path,
    )
    assert data["DATABASE"]["ENGINE"] == "django.db.backends.postgresql"
    assert data["DATABASE"]["NAME"] == "minsheng"
    assert data["DATABASE"]["HOST"] == "db.example.invalid"
    assert data["CACHE_BACKEND"] == "config.cache.SharedPoolRedisCache"
    assert data["CACHE_CLASS"] == "SharedPoolRedisCache"
    assert data["CHANNEL_BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert data["CHANNEL_CLASS"] == "RedisChannelLayer"


def test_it_is_chinese_first_in_china_time(tmp_path: Path) -> None:
    data = settings_for({"SECRET_KEY": REAL_KEY}, tmp_path)
    assert data["TIME_ZONE"] == "Asia/Shanghai"
    assert data["USE_TZ"] is True
    assert data["LANGUAGE_CODE"] == "zh-hans"
    assert data["LANGUAGES"][0] == "zh-hans"
    assert "en" in data["LANGUAGES"]


def test_it_turns_sentry_on_only_with_a_dsn(tmp_path: Path) -> None:
    data = settings_for(
        {
            "SECRET_KEY": REAL_KEY,
            "SENTRY_DSN": "https://public@example.invalid/1",
            "ENVIRONMENT": "staging",
            "RELEASE": "minsheng@1.2.3",
        },
        tmp_path,
    )
    assert data["SENTRY_ACTIVE"] is True
    assert data["SENTRY_OPTIONS"] == {"environment": "staging", "release": "minsheng@1.2.3"}


def test_it_reads_allowed_hosts_as_a_list(tmp_path: Path) -> None:
    data = settings_for(
        {"SECRET_KEY": REAL_KEY, "ALLOWED_HOSTS": " minsheng.gov.cn, .example.org ,"}, tmp_path
    )
    assert data["ALLOWED_HOSTS"] == ["minsheng.gov.cn", ".example.org"]
