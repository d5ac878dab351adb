"""Settings, read from the environment with working defaults for a laptop.

Every setting is documented in README.md ("Settings"). With nothing set, the app runs on
SQLite and a file-system Celery broker under ``var/``, so it needs no server at all.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("APP_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - development default

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Public base URL of this service, used to build the webhook URL shown to Jira admins.
PUBLIC_BASE_URL = os.environ.get("APP_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "core",
    "accounts",
    "records",
    "integrations",
    "sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mappings_site.urls"
WSGI_APPLICATION = "mappings_site.wsgi.application"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL (postgres://user@host:5432/name) switches to PostgreSQL via psycopg 3.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            # The web server and the Celery worker share the file: WAL lets readers run
            # beside a writer, IMMEDIATE makes writers queue instead of failing to upgrade.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH", str(VAR_DIR / "test.sqlite3"))},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a sign-in while its username or client address is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# In development whitenoise serves straight from the app folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Security -------------------------------------------------------------------------------
# See README.md ("Production: security settings").
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    # Trust X-Forwarded-Proto only behind a TLS proxy that sets it (and drops the client's).
    if env_bool("DJANGO_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Sent on HTTPS answers only; 0 turns it off.
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    # Usually the proxy redirects to HTTPS; this does it here instead (the load balancer's
    # plain-HTTP health check excepted).
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# How many proxies in front of the app append to X-Forwarded-For. 0: the client address is
# REMOTE_ADDR and X-Forwarded-For is ignored (a client could forge it to dodge throttles).
TRUSTED_PROXY_COUNT = int(os.environ.get("APP_TRUSTED_PROXY_COUNT", "0"))

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one username,
# or from one client address, that username / address is locked out for the cool-off time
# (renewed by each attempt during it); the login page says when to try again (429).
AXES_FAILURE_LIMIT = int(os.environ.get("APP_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("APP_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
# A successful sign-in must not wipe the address's failures (or guessers would interleave
# sign-ins to an account of their own).
AXES_RESET_ON_SUCCESS = False
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUSTED_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Throttle counters (failed API keys) live in the cache: give several web processes one shared
# cache (APP_CACHE_URL=redis://...) so they count together; the default is per process.
CACHE_URL = os.environ.get("APP_CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from this origin
# only, so injected markup cannot run or load anything. APP_CSP: enforce (the default, in
# development too; Django's DEBUG error pages are exempt), report-only, or off.
CSP_DIRECTIVES = {
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
CSP_MODE = os.environ.get("APP_CSP", "enforce").strip().lower()
if CSP_MODE == "enforce":
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
elif CSP_MODE == "report-only":
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": CSP_DIRECTIVES}
elif CSP_MODE == "off":
    MIDDLEWARE.remove("csp.middleware.CSPMiddleware")
else:
    raise ImproperlyConfigured("APP_CSP must be enforce, report-only or off.")

# --- Secrets at rest ------------------------------------------------------------------------
# Fernet key(s) for Jira credentials; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env_list("APP_ENCRYPTION_KEYS")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.DefaultPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "PAGE_SIZE": 50,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # Failed API-key authentications per client address (accounts.authentication).
    "DEFAULT_THROTTLE_RATES": {
        "api_key_failures": os.environ.get("APP_API_KEY_FAILURE_RATE", "20/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Roadmap ↔ Jira sync API",
    "DESCRIPTION": (
        "Roadmap records (initiatives, releases, epics, features, requirements), their links, "
        "and the integrations that keep them in step with Jira. Authenticate with "
        "`Authorization: Bearer <API key>` (create keys under Settings > API keys). "
        'Every error is JSON: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from this project's static files (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and the docs are for signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set, whatever the field is called (kind, record_kind, parent_kind).
    "ENUM_NAME_OVERRIDES": {
        "RecordKindEnum": "records.kinds.RecordKind",
        "LinkTypeEnum": "records.kinds.LinkType",
    },
}

# --- Celery ---------------------------------------------------------------------------------
# With no CELERY_BROKER_URL, kombu's file-system transport under var/ needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(os.environ.get("CELERY_FILESYSTEM_DIR", VAR_DIR / "broker"))
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"  # kombu's, publishing atomically
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
        # How often an idle worker looks for a new message file (kombu's default, 1 s, was
        # most of an edit's trip on the embedded default); a directory listing is cheap.
        "polling_interval": float(os.environ.get("CELERY_FILESYSTEM_POLLING_INTERVAL", "0.05")),
    }
else:
    # Must exceed the longest countdown/ETA a task is given (see sync retries), or Redis
    # redelivers a message that is merely waiting.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "7200"))
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
# One queue name per deployment (tests give each run its own so runs never share tasks).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict = {
    "worker-heartbeat": {"task": "core.heartbeat", "schedule": 60.0},
    # Finds webhook events and outbox entries whose hand-off to a worker was lost.
    "sync-sweep": {
        "task": "sync.sweep",
        "schedule": float(os.environ.get("SYNC_SWEEP_SECONDS", "30")),
    },
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    # A webhook answer must not hang on a dead broker: fail fast; the sweep re-sends.
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3

# --- Jira -----------------------------------------------------------------------------------
JIRA_HTTP_TIMEOUT = float(os.environ.get("JIRA_HTTP_TIMEOUT", "20"))
JIRA_HTTP_CONNECT_TIMEOUT = float(os.environ.get("JIRA_HTTP_CONNECT_TIMEOUT", "5"))
# URL of the bundled Jira emulator offered as a sandbox in the demo; empty hides it.
JIRA_SANDBOX_URL = os.environ.get("APP_JIRA_SANDBOX_URL", "")

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_webhook_tokens": {"()": "core.logging.RedactWebhookTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_webhook_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # These log request paths; filtering at the logger redacts before any handler sees it.
        "django.request": {"filters": ["redact_webhook_tokens"]},
        "django.server": {"filters": ["redact_webhook_tokens"]},
    },
}

# Sync: after a create whose answer was lost, search the marker labels again after these
# pauses (Jira's search index lags behind writes); a create that followed a search has its
# markers checked for duplicates this many seconds later (sync.services.creates).
SYNC_MARKER_RESEARCH_DELAYS = tuple(
    float(s) for s in os.environ.get("SYNC_MARKER_RESEARCH_DELAYS", "1,3,6").split(",") if s
)
SYNC_MARKER_CHECK_DELAY = float(os.environ.get("SYNC_MARKER_CHECK_DELAY", "600"))
