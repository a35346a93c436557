"""Cachet settings, read from the environment (see README.md for the list)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from gateway.registry import DEFAULT_HTTP_TRANSPORT, HTTP_TRANSPORTS

from .env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set (or DEBUG=true for local use)")
    SECRET_KEY = "insecure-local-development-key"  # noqa: S105 - only ever used with DEBUG
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First: its templates override the admin's own (admin/base_site.html).
    "templates_app",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

# Django's stock middleware, made to run on the event loop (config/middleware.py).
MIDDLEWARE = [
    "config.middleware.Security",
    "config.middleware.Sessions",
    "config.middleware.Common",
    "config.middleware.Csrf",
    "config.middleware.Authentication",
    "config.middleware.Messages",
    "config.middleware.XFrameOptions",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'cachet.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_POOL", True
):
    # Under ASGI each request's database work runs in a thread of its own, so without a
    # pool every request would open (and close) a connection. A pool hands them out;
    # persistent connections are then the pool's job, not CONN_MAX_AGE's.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX", 20, minimum=1),
        "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers
    # queue on the lock instead of failing when they upgrade from a read.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Messages live in the server-side session, never in a cookie: the admin shows a new API
# key once through a message.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Largest request body accepted (bytes); a larger one is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("CACHET_MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=1024)

# State that processes share but need not keep (the simulator's cache entries, rate
# limit counters): local memory by default, Redis when REDIS_URL is set.
REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cachet"}
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "templates_app.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "templates_app.api.auth.IsApiClient",
        "templates_app.api.auth.KeyHasScope",
        "templates_app.api.auth.KeyMayUseTemplate",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["templates_app.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["templates_app.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "templates_app.api.exception_handler.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "templates_app.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cachet API",
    "DESCRIPTION": "Versioned prompt templates with byte-stable cached prefixes.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

CACHET = {
    "RENDER_TIMEOUT": env_float("CACHET_RENDER_TIMEOUT", 1.0, minimum=0.05),
    "RENDER_MAX_OUTPUT_CHARS": env_int("CACHET_RENDER_MAX_OUTPUT_CHARS", 8_000_000, minimum=1000),
    "MAX_JSON_DEPTH": env_int("CACHET_MAX_JSON_DEPTH", 64, minimum=8),
    # Bytes of rendered prefixes a process keeps (templates_app/engine/splice.py); 0: none.
    "PREFIX_CACHE_BYTES": env_int("CACHET_PREFIX_CACHE_BYTES", 64 * 1024 * 1024, minimum=0),
    "SERVE_STATIC": env_bool("CACHET_SERVE_STATIC", True),
    # Store variable values on invocations (needed to show the first differing character
    # of a changed prefix). Names in REDACT_VARIABLES are stored as "[redacted]".
    "LOG_VARIABLES": env_bool("CACHET_LOG_VARIABLES", True),
    "REDACT_VARIABLES": env_list("CACHET_REDACT_VARIABLES", []),
    # Labels that only users with templates_app.move_protected_label may move.
    "PROTECTED_LABELS": env_list("CACHET_PROTECTED_LABELS", ["production"]),
    # Requests a minute per API key whose own limit is empty; 0 means unlimited.
    "DEFAULT_RATE_LIMIT": env_int("CACHET_DEFAULT_RATE_LIMIT", 600, minimum=0),
    # Invocation rows wait in a queue of this many and are written in batches by a
    # thread of their own (templates_app/writer.py); 0 writes each inside its send.
    "INVOCATION_QUEUE": env_int("CACHET_INVOCATION_QUEUE", 10_000, minimum=0),
    "INVOCATION_BATCH": env_int("CACHET_INVOCATION_BATCH", 500, minimum=1),
    # Long-lived threads (each keeping its connection) for the send path's database
    # reads (templates_app/dbthreads.py); 0 runs them the way Django would.
    "DB_THREADS": env_int("CACHET_DB_THREADS", 8, minimum=0),
    # Seconds the queue has to drain at shutdown (after in-flight sends have finished).
    "INVOCATION_DRAIN_TIMEOUT": env_float("CACHET_INVOCATION_DRAIN_TIMEOUT", 30.0, minimum=0),
    # Days an invocation row is kept by `manage.py purge_invocations`; 0 keeps every row.
    "INVOCATION_RETENTION_DAYS": env_int("CACHET_INVOCATION_RETENTION_DAYS", 0, minimum=0),
    # Concurrent sends of a cold cached prefix wait for the first one's answer to begin (at
    # most COALESCE_WAIT seconds), then read what it wrote (templates_app/sending/coalescing.py).
    "COALESCE": env_bool("CACHET_COALESCE", True),
    "COALESCE_WAIT": env_float("CACHET_COALESCE_WAIT", 5.0, minimum=0),
}

# Provider settings (README, "Providers and models"). Secrets have no defaults: a provider
# without credentials is unavailable; the simulator always works.
GATEWAY = {
    "ANTHROPIC_API_KEY": env_str("ANTHROPIC_API_KEY"),
    "ANTHROPIC_BASE_URL": env_str("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
    "OPENAI_API_KEY": env_str("OPENAI_API_KEY"),
    "OPENAI_BASE_URL": env_str("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "AWS_REGION": env_str("AWS_REGION"),
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": env_str("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
    "CONNECT_TIMEOUT": env_float("CACHET_PROVIDER_CONNECT_TIMEOUT", 10.0, minimum=0.1),
    "TIMEOUT": env_float("CACHET_PROVIDER_TIMEOUT", 600.0, minimum=0.1),
    # Connections per provider and process: at most this many calls in flight upstream.
    "MAX_CONNECTIONS": env_int("CACHET_PROVIDER_MAX_CONNECTIONS", 4096, minimum=1),
    "MAX_KEEPALIVE": env_int("CACHET_PROVIDER_MAX_KEEPALIVE", 256, minimum=0),
    # httpx pools per provider and process, taken in turn (gateway/http.py), on the httpx
    # transport; the aiohttp one (gateway/aio.py, the default) needs one.
    "POOLS": env_int("CACHET_PROVIDER_POOLS", 4, minimum=1),
    "HTTP_TRANSPORT": env_choice("CACHET_HTTP_TRANSPORT", HTTP_TRANSPORTS, DEFAULT_HTTP_TRANSPORT),
    # An operator's model catalog file (TOML or JSON) applied over the built-in one.
    "CATALOG_FILE": env_str("CACHET_CATALOG_FILE"),
    # Seconds before a simulated answer begins (its time to first byte); the demo sets it.
    "SIM_LATENCY": env_float("CACHET_SIM_LATENCY", 0.0, minimum=0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
