"""Settings shared by every environment; everything that varies comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "leadsite.admin_site.LeadsAdminConfig",  # django.contrib.admin with the dashboard as its landing page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "jobs",  # before django_tasks_db: its db_worker (with a lease) replaces the stock one
    "django_tasks_db",
    "organizations",
    "leads",
    "customers",
    "idempotency",
    "events",
    "webhooks",
    "demo",
    "routing",
    "scoring",
]

MIDDLEWARE = [
    "leadsite.middleware.RequestLogMiddleware",
    "leadsite.db_router.PrimaryReplicaMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "leadsite.body_limit.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "leadsite.urls"
WSGI_APPLICATION = "leadsite.wsgi.application"
# The spec's paths have no trailing slash; the router accepts both forms, so never redirect.
APPEND_SLASH = False

# Larger request bodies are refused with a 413 (leadsite.body_limit); Django's form parsing uses the same limit.
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's own overrides of library templates (drf-spectacular's ReDoc page).
        "DIRS": [BASE_DIR / "leadsite" / "templates"],
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
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A kept-open connection is checked before a request reuses it, so a database restart costs no request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers at once (gunicorn workers, the task worker beside runserver): WAL lets reads go on
    # beside a writer, and every transaction takes the write lock when it begins (IMMEDIATE), so a
    # writer waits up to `timeout` seconds for its turn. A deferred transaction that reads, then
    # writes, would fail with "database is locked" at once instead of waiting.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# A PostgreSQL streaming replica for reads (leadsite.db_router); writes and reads after them use the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
        test_options={"MIRROR": "default"},  # tests read the primary, unless a test sets up its own replica
    )
DATABASE_ROUTERS = ["leadsite.db_router.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "organizations.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Readable timestamps in the admin: "25 Nov 2026, 14:03 UTC" (leadsite/formats/en/formats.py).
FORMAT_MODULE_PATH = ["leadsite.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "leadsite" / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps when collectstatic has not been run (development, tests).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["organizations.authentication.OrganizationJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["organizations.permissions.RolePermission"],
    "DEFAULT_PARSER_CLASSES": ["leadsite.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["leadsite.filters.FilterWhenAskedBackend"],
    "DEFAULT_SCHEMA_CLASS": "leadsite.schema.AutoSchema",
    "EXCEPTION_HANDLER": "leadsite.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["leadsite.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("THROTTLE_RATE_USER", "6000/minute"),
        # Failed logins (docs/security.md): per client IP, per account and IP, per account from all IPs.
        "login_ip": os.environ.get("THROTTLE_RATE_LOGIN_IP", "60/minute"),
        "login_account_ip": os.environ.get("THROTTLE_RATE_LOGIN_ACCOUNT_IP", "10/minute"),
        "login_account": os.environ.get("THROTTLE_RATE_LOGIN_ACCOUNT", "100/hour"),
        # Refused POST /users per admin (emails are global: docs/security.md).
        "user_create_failures": os.environ.get("THROTTLE_RATE_USER_CREATE_FAILURES", "30/hour"),
    },
    # The client IP is the address that connected, unless NUM_PROXIES trusted proxies add X-Forwarded-For
    # (without this a client could pick its own IP for the throttles).
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES", "0")),
}

# Failed-login counters live in the `throttle` cache, shared by every process: the database (its table is
# made by a migration) or, with REDIS_URL (and the `redis` package), Redis. The default cache (the per-user
# API rate) is per process unless REDIS_URL is set.
THROTTLE_CACHE_TABLE = "throttle_cache"
REDIS_URL = os.environ.get("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    "throttle": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "throttle"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": THROTTLE_CACHE_TABLE}
    ),
}

# Background work (webhook deliveries, large imports) goes through Django's task framework: the
# `django-tasks` backport with the database backend, run by `manage.py db_worker` (`make worker`).
# On Django 6 this becomes `django.tasks` with the same backend; the code changes only an import.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Task workers' lease (jobs/leases.py): each beats every WORKER_HEARTBEAT_SECONDS; the running tasks of a
# worker silent for WORKER_LEASE_SECONDS (killed, machine or database lost) are run again by another
# worker, up to TASK_MAX_ATTEMPTS workers in all, or marked failed with the reason.
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "5"))
WORKER_LEASE_SECONDS = float(os.environ.get("WORKER_LEASE_SECONDS", "30"))
TASK_MAX_ATTEMPTS = int(os.environ.get("TASK_MAX_ATTEMPTS", "3"))

# Webhooks (webhooks/). Production refuses URLs that are not https or that resolve to loopback, private,
# link-local or cloud metadata addresses; development and tests allow them, for receivers on this machine.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
# A delivery succeeds on a 2xx answered within this many seconds (connecting included).
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Seconds between attempts, each with up to ±20 % jitter; the last one repeats until WEBHOOK_RETRY_FOR_SECONDS
# after the event, then the delivery fails. 30 s, 2 min, 10 min, 1 h, 6 h, then every 12 h for three days.
WEBHOOK_RETRY_SCHEDULE = [float(s) for s in env_list("WEBHOOK_RETRY_SCHEDULE", "30,120,600,3600,21600,43200")]
WEBHOOK_RETRY_FOR_SECONDS = float(os.environ.get("WEBHOOK_RETRY_FOR_SECONDS", str(3 * 24 * 3600)))
# An endpoint that failed every attempt for this long is disabled, with the reason.
WEBHOOK_DISABLE_AFTER_SECONDS = float(os.environ.get("WEBHOOK_DISABLE_AFTER_SECONDS", str(3 * 24 * 3600)))
# Attempts in flight to one endpoint at once, over all workers: a slow endpoint holds at most this many workers.
WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = int(os.environ.get("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", "1"))

# Events older than this are deleted by `manage.py purge_events` (run it daily).
EVENT_RETENTION_DAYS = int(os.environ.get("EVENT_RETENTION_DAYS", "30"))
# Each organization's lead scoring model is retrained by the task worker when its last training is this old
# (scoring/tasks.py; docs/scoring.md). 0 turns the schedule off (POST /scoring/model/train still works).
SCORING_RETRAIN_HOURS = float(os.environ.get("SCORING_RETRAIN_HOURS", "24"))

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("ACCESS_TOKEN_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("REFRESH_TOKEN_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Leads API",
    "DESCRIPTION": "Lead management for the Revenue Recognition System.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No validator badge: it would send the schema's URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["leadsite.schema.drop_optional_slash_duplicates"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "leads.batch_views.add_batch_links"],
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.LeadStatus",
        "LeadWritableStatusEnum": "leads.serializers.STATUSES_ON_CREATE",
        "CustomerStatusEnum": "customers.models.Customer.Status",
        "UserRoleEnum": "organizations.models.User.Role",
        "ErrorCodeEnum": "leadsite.errors.ERROR_CODE_CHOICES",
        "ImportUpsertEnum": "leads.import_api.UPSERT_CHOICES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
