"""Minsheng settings: everything comes from the environment.

The embedded default (no environment at all but ``SECRET_KEY``/``DEBUG``) runs on a SQLite file
under ``var/`` with an in-memory channel layer and in-process background jobs; production sets
``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` and ``SENTRY_DSN``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MINSHENG_VAR_DIR", BASE_DIR / "var"))

INSECURE_KEY_PREFIX = "django-insecure-"


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def envlist(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def envnetworks(name: str) -> list[str]:
    """A comma list of IP networks (CIDR); a typo refuses to start rather than allow nothing."""
    values = envlist(name, "")
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {value!r} is not an IP network (write e.g. 10.20.0.0/16)"
            ) from exc
    return values


DEBUG = envbool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and os.environ.get("SECRET_KEY_FILE"):
    SECRET_KEY = Path(os.environ["SECRET_KEY_FILE"]).read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value; "
            "only DEBUG=1 may run without one."
        )
    SECRET_KEY = INSECURE_KEY_PREFIX + "development-only-key-never-use-in-production"
elif not DEBUG and (SECRET_KEY.startswith(INSECURE_KEY_PREFIX) or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SECRET_KEY is a placeholder or shorter than 32 characters; refusing to start with DEBUG off."
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files, no CDN
    "channels",
    "django_fsm",
    "config.apps.AxesConfig",  # django-axes, named in Chinese (config/apps.py)
    "sla",
    "tickets",
    "integrations",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the address: a NUL or invalid character in it is refused (with the
    # security headers of the two above on the refusal).
    "config.middleware.UnstorableInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "config.middleware.SyncBoundaryMiddleware",  # last: see its docstring
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Staff login lock-out: 5 failures for one username from one address locks it for 15 minutes;
# after 30 failures from one address, whatever the usernames, that address may try once every
# 30 seconds (tickets/lockout.py: password spraying, without locking out an office's NAT).
AXES_HANDLER = "tickets.lockout.StaffLockoutHandler"
AXES_CLIENT_IP_CALLABLE = "tickets.lockout.client_ip"
AXES_USERNAME_CALLABLE = "tickets.lockout.username_of"
LOGIN_IP_FAILURE_LIMIT = envint("LOGIN_IP_FAILURE_LIMIT", 30)
LOGIN_IP_THROTTLE_SECONDS = envint("LOGIN_IP_THROTTLE_SECONDS", 30)
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("LOGIN_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A locked-out login sees our Chinese page (inbox and admin alike), not axes' English one.
AXES_LOCKOUT_CALLABLE = "tickets.views.auth.lockout_response"

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'minsheng.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # JIT compiles the metrics' big aggregates for ~0.4 s each and saves less than that.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ.get(
        "DB_SESSION_OPTIONS", "-c jit=off"
    )
    # A server that does not answer is given up on quickly (the spool takes over).
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", envint("DB_CONNECT_TIMEOUT", 3))
if DATABASES["default"]["ENGINE"].endswith("postgresql") and envint("DB_POOL_SIZE", 0) > 0:
    # Under ASGI every request runs in a fresh thread, so persistent connections are never
    # reused and each request pays a PostgreSQL backend start; a pool (psycopg-pool) avoids it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A short wait for a connection: while the server is away a request must fail within
    # WeChat's 5-second window (and spool the push), not queue behind the pool's reconnects.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": envint("DB_POOL_SIZE", 0),
        "timeout": envint("DB_POOL_TIMEOUT", 2),
    }
# Case numbers from a short transaction of their own on PostgreSQL (gaps possible, no queue
# of intakes behind one counter row): tickets/services/case_numbers.py.
CASE_NUMBERS_OWN_TRANSACTION = envbool(
    "CASE_NUMBERS_OWN_TRANSACTION", DATABASES["default"]["ENGINE"].endswith("postgresql")
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process jobs read while a request writes; IMMEDIATE avoids the
    # "database is locked" upgrade deadlock when two transactions both want to write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with its connection pools shared process-wide (config/cache.py).
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "minsheng"),
            # A Redis that does not answer is an absent one (docs/resilience.md).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A consumer waits on Redis for up to channels-redis's brpop_timeout (5 s)
                # for its next message, so reads may take that long; sends from a request
                # are bounded on their own (tickets/live.py SEND_TIMEOUT).
                "hosts": [
                    {"address": REDIS_URL, "socket_connect_timeout": 0.5, "socket_timeout": 8}
                ],
                "prefix": os.environ.get("CHANNEL_PREFIX", "minsheng"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/inbox/login/"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on a missing folder before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Attachments are private: never under STATIC_ROOT, never served by a public URL.
        "OPTIONS": {"location": str(VAR_DIR / "private-media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    # Token first, so an anonymous API call is told 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # How many reverse proxies stand in front (X-Forwarded-For is trusted only that deep).
    "NUM_PROXIES": envint("NUM_PROXIES", 0),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API's pages need inline styles and scripts (the CSP refuses
    # them); people read the API at /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with a depth limit and no NUL / lone surrogates (tickets/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "tickets.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tickets.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Minsheng 民声 API",
    "DESCRIPTION": "民声工单系统：工单列表、详情、办理操作，以及市民网上提交诉求。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "/favicon.ico",
    "REDOC_DIST": "SIDECAR",
}

# --- browser-side defences (docs/resilience.md) ------------------------------------------
# Production is every run that is neither DEBUG nor the demo of `make run` (which serves plain
# http on loopback). There the cookies are Secure and HSTS is sent (on HTTPS requests only:
# behind a TLS-terminating proxy set NUM_PROXIES, and X-Forwarded-Proto is trusted).
PRODUCTION = not DEBUG and not envbool("DEMO", False)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", PRODUCTION)
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", False)
if envint("NUM_PROXIES", 0) > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every page, in every mode: scripts and styles from our own
# origin only (ECharts and htmx are vendored files), no inline script, no plugin, no framing.
# The browser tests fail on any violation (tests/browser.py). CSP=0 turns it off; CSP=report
# only reports.
_CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
_CSP_MODE = os.environ.get("CSP", "1").strip().lower()
if _CSP_MODE == "report":
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP_POLICY
elif _CSP_MODE not in ("0", "off", "false", "no"):
    CONTENT_SECURITY_POLICY = _CSP_POLICY

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Minsheng ---------------------------------------------------------------------------
MINSHENG = {
    "ACK_MINUTES": envint("SLA_ACK_MINUTES", 30),
    "ACK_WARNING_MINUTES": envint("SLA_ACK_WARNING_MINUTES", 20),
    "MAX_EXTENSION_WORKING_DAYS": envint("SLA_MAX_EXTENSION_DAYS", 10),
    "CALENDAR_HORIZON_DAYS": envint("CALENDAR_HORIZON_DAYS", 90),
}
ENVIRONMENT = os.environ.get("ENVIRONMENT", "development" if DEBUG else "production")
RELEASE = os.environ.get("RELEASE", "")
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
WEBSITE_RATE_LIMIT = os.environ.get("WEBSITE_RATE_LIMIT", "10/hour")
# Demo mode (`make run` sets DEMO=1): allows load_demo and the demo channel accounts, whose
# secrets are public. Never on in production.
DEMO_MODE = envbool("DEMO", False)
# The largest request body the server reads (config/bodylimit.py): the website form's five
# 10 MB attachments and its text; anything larger is refused while it streams.
MAX_REQUEST_BYTES = envint("MAX_REQUEST_MB", 60) * 1024 * 1024
# Where a channel push waits while the database is away (integrations/spool.py): local disk
# of each web machine, replayed by that machine's web processes and the inbound-recover job.
INBOUND_SPOOL_DIR = Path(os.environ.get("INBOUND_SPOOL_DIR", VAR_DIR / "spool"))
INBOUND_SPOOL_MAX_BYTES = envint("INBOUND_SPOOL_MAX_MB", 512) * 1024 * 1024
# Pushes whose account this process could not read (not checked before spooling): a small share.
INBOUND_SPOOL_UNVERIFIED_MAX_BYTES = envint("INBOUND_SPOOL_UNVERIFIED_MB", 16) * 1024 * 1024
# Publish a replied case's record without review when redaction masked nothing.
PUBLIC_AUTO_PUBLISH = envbool("PUBLIC_AUTO_PUBLISH", True)

MB = 1024 * 1024
# Channel media (WeChat, Weibo, 12345, Open311 attachments), downloaded by the outbox worker
# (integrations/media/). A cap per kind, enforced while the bytes arrive; images larger than
# MAX_PIXELS are refused as decompression bombs; ALLOW_NETWORKS lists the private networks
# (CIDR, e.g. a 12345 platform on the e-government intranet) that message URLs may point to:
# every other private, loopback or link-local address is refused.
MEDIA_DOWNLOAD = {
    "MAX_BYTES": {
        "image": envint("MEDIA_MAX_IMAGE_MB", 10) * MB,
        "voice": envint("MEDIA_MAX_VOICE_MB", 2) * MB,
        "video": envint("MEDIA_MAX_VIDEO_MB", 20) * MB,
        "document": envint("MEDIA_MAX_DOCUMENT_MB", 10) * MB,
    },
    "MAX_PIXELS": envint("MEDIA_MAX_IMAGE_PIXELS", 40_000_000),
    "TIMEOUT_SECONDS": envint("MEDIA_TIMEOUT_SECONDS", 10),
    "TOTAL_SECONDS": envint("MEDIA_TOTAL_SECONDS", 60),
    "ALLOW_NETWORKS": envnetworks("MEDIA_ALLOW_NETWORKS"),
}

from config.sentry import init_sentry  # noqa: E402

init_sentry(dsn=SENTRY_DSN, environment=ENVIRONMENT, release=RELEASE)
