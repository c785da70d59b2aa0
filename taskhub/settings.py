"""TaskHub settings, read from the environment (see README "Configuration").

Defaults are safe for production: DEBUG is off, cookies are secure, HTTPS is enforced and
SECRET_KEY must be given. `make run` and `make test` set development values.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # TaskHub's own apps, lowest layer first (see taskhub/hooks.py and .importlinter).
    "taskhub",
    "accounts",
    "projects",
    "annotations",
    "sprints",
    "payouts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "taskhub.middleware.UserTimezoneMiddleware",
    "taskhub.errors.DomainErrorMiddleware",
]

# Overridable only so bench/http_herd.py can add its baseline view beside the real URLs.
ROOT_URLCONF = env.str("ROOT_URLCONF", default="taskhub.urls")
WSGI_APPLICATION = "taskhub.wsgi.application"

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
                "accounts.access.role_context",
                "accounts.context_processors.notifications",
            ],
            # when/day/clock (one date and time style, in the viewer's zone) in every template.
            "builtins": ["taskhub.templatetags.taskhub"],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://root@127.0.0.1:5432/taskhub")}
# A Unix-socket directory may be given percent-encoded as the host (postgres://user@%2Fpath%2Fdir/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"] or "")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "taskhub",
        # A Redis that does not answer fails a request in seconds (a 503), not after minutes.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    }
}

# Sessions are read from Redis and kept in PostgreSQL (taskhub/sessions.py): no session query per request.
SESSION_ENGINE = "taskhub.sessions"

# --- Accounts ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[TaskHub] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Failed logins are limited per client address, and per address and account together (the
# adapter keys "key" by both), so nobody can lock a known email out from elsewhere.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = env.dict("ACCOUNT_RATE_LIMITS", default={}) or {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}

# --- Email -------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="TaskHub <no-reply@taskhub.local>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Links in emails (notifications, unsubscribe) start with this address.
TASKHUB_SITE_URL = env.str("TASKHUB_SITE_URL", default="http://127.0.0.1:8000")
# The daily digest is sent at this hour (0-23) of each person's own time zone.
TASKHUB_EMAIL_DIGEST_HOUR = env.int("TASKHUB_EMAIL_DIGEST_HOUR", default=8)
# Contractors are reminded this long before a scheduled release opens (in-app and by email).
TASKHUB_RELEASE_REMINDER = timedelta(minutes=env.int("TASKHUB_RELEASE_REMINDER_MINUTES", default=60))
# A contractor's night, in hours (0-23) of their own time zone: a release reminder that would reach
# them from the start hour until the end hour is sent the evening before, in the last reminder
# period before the night begins (projects.services.release_reminders_due).
TASKHUB_NIGHT_START_HOUR = env.int("TASKHUB_NIGHT_START_HOUR", default=22)
TASKHUB_NIGHT_END_HOUR = env.int("TASKHUB_NIGHT_END_HOUR", default=8)

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / ".data" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
# Uploads (task media, import files): MEDIA_ROOT by default; an S3-compatible bucket (django-storages)
# when MEDIA_S3_BUCKET is set. Task media is then served from the bucket by signed URLs, and the
# bucket's origin is allowed to the pages' images and media under the Content Security Policy.
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
MEDIA_S3_ENDPOINT_URL = env.str("MEDIA_S3_ENDPOINT_URL", default="")
MEDIA_S3_CUSTOM_DOMAIN = env.str("MEDIA_S3_CUSTOM_DOMAIN", default="")
MEDIA_S3_REGION = env.str("MEDIA_S3_REGION", default="")
if MEDIA_S3_BUCKET:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": MEDIA_S3_ENDPOINT_URL or None,
            "region_name": MEDIA_S3_REGION or None,
            "custom_domain": MEDIA_S3_CUSTOM_DOMAIN or None,
            # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance's role), read by boto3.
            "default_acl": None,
            "querystring_auth": not MEDIA_S3_CUSTOM_DOMAIN,
            "querystring_expire": env.int("MEDIA_S3_URL_SECONDS", default=6 * 3600),
            "file_overwrite": False,
            "addressing_style": env.str("MEDIA_S3_ADDRESSING_STYLE", default="") or None,
        },
    }
    if MEDIA_S3_CUSTOM_DOMAIN:
        MEDIA_ORIGIN = f"https://{MEDIA_S3_CUSTOM_DOMAIN.split('/')[0]}"
    elif MEDIA_S3_ENDPOINT_URL:
        _endpoint = urlsplit(MEDIA_S3_ENDPOINT_URL)
        MEDIA_ORIGIN = f"{_endpoint.scheme}://{_endpoint.netloc}"
    else:
        MEDIA_ORIGIN = f"https://{MEDIA_S3_BUCKET}.s3.{MEDIA_S3_REGION or 'us-east-1'}.amazonaws.com"
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    MEDIA_ORIGIN = ""
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The largest image or video clip accepted into a project's media library.
TASKHUB_MEDIA_MAX_BYTES = env.int("TASKHUB_MEDIA_MAX_BYTES", default=500 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security ----------------------------------------------------------------------------
# Behind the TLS proxy (README "Production"): it says which requests came over HTTPS, and, with
# ALLAUTH_TRUSTED_PROXY_COUNT proxies of ours in front, the client's address is read from the
# X-Forwarded-For entry the last of them appended (or from ALLAUTH_TRUSTED_CLIENT_IP_HEADER), so
# the login rate limits count each client, not the proxy. 0 trusts no forwarded address.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("ALLAUTH_TRUSTED_CLIENT_IP_HEADER", default="") or None
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
USE_X_FORWARDED_PORT = env.bool("USE_X_FORWARDED_PORT", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): no inline scripts or styles anywhere, admin included.
# Audio payloads may point at https URLs on a media host, so media also allows https:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Task images and clips: the site's own, the media bucket's; a project's own hosts (its
        # media_hosts) are added on the pages that show its tasks (projects.media_csp).
        "img-src": ["'self'", "data:", *([MEDIA_ORIGIN] if MEDIA_ORIGIN else [])],
        "media-src": ["'self'", "https:", *env.list("CSP_MEDIA_SRC", default=[]),
                      *([MEDIA_ORIGIN] if MEDIA_ORIGIN else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
SESSION_COOKIE_HTTPONLY = True

# --- REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Pipelines send "Authorization: Token <token>" (API tokens, accounts/tokens.py); browsers their session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Requests made with an API token are throttled per user; pages' own API calls are not.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.tokens.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_token": env.str("TASKHUB_API_TOKEN_RATE", default="2000/hour")},
    "DEFAULT_PERMISSION_CLASSES": ["accounts.access.IsContractor"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Strict JSON: no NaN or 1e999, bounded nesting, no NUL (taskhub.parsing).
    "DEFAULT_PARSER_CLASSES": [
        "taskhub.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "taskhub.api.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TaskHub API",
    "DESCRIPTION": "Claim, answer and review RLHF tasks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1: JSON Schema proper, so the export options (a pydantic model) are described as they are checked.
    "OAS_VERSION": "3.1.0",
    # Swagger UI from the vendored drf-spectacular-sidecar files: no CDN, and it runs under the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components, so uploads are described as multipart files.
    "COMPONENT_SPLIT_REQUEST": True,
}
# API tokens (django-rest-knox): random, stored as a SHA-512 digest, shown once, revocable.
REST_KNOX = {
    "TOKEN_PREFIX": "thk_",
    "TOKEN_TTL": timedelta(days=env.int("TASKHUB_API_TOKEN_DAYS", default=90)),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="taskhub")
# Tasks are idempotent, so a task whose worker died is delivered again rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Must exceed the hard time limit, or Redis redelivers tasks that are still running. A broker that
# does not answer fails a send in seconds; the outbox (taskhub.outbox) sends it again later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Webhook deliveries wait on other people's servers: they have a queue of their own, so a dead
# endpoint never holds up releases, imports or exports (make run's worker consumes both queues).
CELERY_WEBHOOK_QUEUE = env.str("CELERY_WEBHOOK_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}-webhooks")
CELERY_TASK_ROUTES = {"projects.tasks.webhook_deliver": {"queue": CELERY_WEBHOOK_QUEUE}}

# Beat sends what the outbox still holds this often, and proves it and the workers alive this often.
TASKHUB_OUTBOX_DRAIN_SECONDS = env.int("TASKHUB_OUTBOX_DRAIN_SECONDS", default=15)
TASKHUB_SERVICE_HEARTBEAT_SECONDS = env.int("TASKHUB_SERVICE_HEARTBEAT_SECONDS", default=30)

# The one place where periodic work is scheduled.
CELERY_BEAT_SCHEDULE = {
    "outbox-drain": {
        "task": "taskhub.tasks.outbox_drain",
        "schedule": timedelta(seconds=TASKHUB_OUTBOX_DRAIN_SECONDS),
        "options": {"expires": TASKHUB_OUTBOX_DRAIN_SECONDS * 4},
    },
    "heartbeat": {
        "task": "taskhub.tasks.heartbeat",
        "schedule": timedelta(seconds=TASKHUB_SERVICE_HEARTBEAT_SECONDS),
        "options": {"expires": TASKHUB_SERVICE_HEARTBEAT_SECONDS * 2},
    },
    "release-due-batches": {
        "task": "annotations.tasks.batches_release_due",
        "schedule": timedelta(minutes=1),
    },
    "exhaust-finished-batches": {
        "task": "projects.tasks.batches_exhaust_finished",
        "schedule": timedelta(minutes=1),
    },
    "open-close-due-sprints": {
        "task": "sprints.tasks.sprints_open_close_due",
        "schedule": timedelta(minutes=1),
    },
    "email-digests-due": {
        "task": "accounts.tasks.emails_digest_due",
        "schedule": timedelta(minutes=15),
    },
    "release-reminders-due": {
        "task": "projects.tasks.release_reminders_due",
        "schedule": timedelta(minutes=5),
    },
    "lead-alerts": {
        "task": "sprints.tasks.lead_alerts_send",
        "schedule": timedelta(minutes=1),
    },
    "deactivations-due": {
        "task": "accounts.tasks.users_deactivate_due",
        "schedule": timedelta(minutes=1),
    },
    "expire-overdue-claims": {
        "task": "annotations.tasks.claims_expire_overdue",
        "schedule": timedelta(minutes=1),
    },
    "relax-fair-share-caps": {
        "task": "annotations.tasks.fair_share_caps_relax",
        "schedule": timedelta(minutes=1),
    },
    "resume-pairwise-generations": {
        "task": "projects.tasks.pairwise_generations_resume",
        "schedule": timedelta(minutes=1),
    },
    "purge-stale-imports": {
        "task": "projects.tasks.task_imports_purge_files",
        "schedule": crontab(hour=3, minute=15),
    },
    "agreement-figures-nightly": {
        "task": "annotations.tasks.agreement_figures_compute",
        "schedule": crontab(hour=1, minute=45),
    },
    "recompute-earnings-nightly": {
        "task": "payouts.tasks.earnings_recompute",
        "schedule": crontab(hour=2, minute=30),
    },
    "purge-old-exports": {
        "task": "annotations.tasks.exports_purge_files",
        "schedule": crontab(hour=3, minute=45),
    },
    "draft-weekly-payouts": {
        "task": "payouts.tasks.payouts_draft_due",
        "schedule": crontab(day_of_week="mon", hour=3, minute=0),
    },
}

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The model client logs each request at INFO; only its warnings matter.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx2": {"level": "WARNING"},
                "openai": {"level": "WARNING"}},
}

# --- TaskHub rules -----------------------------------------------------------------------
# A pay cut can take effect only this long after it is announced (fair-work promise 3).
TASKHUB_RATE_CUT_NOTICE = timedelta(days=env.int("TASKHUB_RATE_CUT_NOTICE_DAYS", default=7))
# A new project like one closed this recently (same task type and qualification, the same people)
# is proposed as its continuation; an admin says it is one or gives a reason why not.
TASKHUB_LINEAGE_LOOKBACK = timedelta(days=env.int("TASKHUB_LINEAGE_LOOKBACK_DAYS", default=90))
# A flagged contractor may answer for this long before a lead may pause them (unless urgent, with a reason).
TASKHUB_FLAG_RESPONSE_WINDOW = timedelta(hours=env.int("TASKHUB_FLAG_RESPONSE_WINDOW_HOURS", default=48))
# A rate more than this many times the highest the project has paid (same unit and currency) is
# set only when the admin confirms it: undoing a typo would be a cut, with its notice period.
TASKHUB_RATE_CONFIRM_FACTOR = env.int("TASKHUB_RATE_CONFIRM_FACTOR", default=3)
TASKHUB_IMPORT_MAX_LINE_BYTES = env.int("TASKHUB_IMPORT_MAX_LINE_BYTES", default=1_000_000)
# A (gzipped) import file is read up to this many bytes once decompressed, and this many lines.
TASKHUB_IMPORT_MAX_BYTES = env.int("TASKHUB_IMPORT_MAX_BYTES", default=512 * 1024 * 1024)
TASKHUB_IMPORT_MAX_LINES = env.int("TASKHUB_IMPORT_MAX_LINES", default=1_000_000)
TASKHUB_IMPORT_MAX_ERRORS = 50
# Payout periods: TASKHUB_PAYOUT_PERIOD_DAYS long, counted from a Monday 00:00 UTC (weekly by default).
TASKHUB_PAYOUT_PERIOD_DAYS = env.int("TASKHUB_PAYOUT_PERIOD_DAYS", default=7)
TASKHUB_PAYOUT_PERIOD_ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
# Memory for the nightly earnings recompute's joins (set for its transaction only).
TASKHUB_RECOMPUTE_WORK_MEM = env.str("TASKHUB_RECOMPUTE_WORK_MEM", default="256MB")
# Releases are announced at least this long ahead unless an admin marks one urgent (promise 1).
TASKHUB_RELEASE_MIN_NOTICE = timedelta(hours=env.int("TASKHUB_RELEASE_MIN_NOTICE_HOURS", default=12))
# A lottery batch's reservation window opens this long before release unless set per batch.
TASKHUB_LOTTERY_WINDOW = timedelta(hours=env.int("TASKHUB_LOTTERY_WINDOW_HOURS", default=24))
# Work and review (issue 5).
# A contractor may appeal a review this long after it was made (fair-work promise 2).
TASKHUB_APPEAL_WINDOW = timedelta(days=env.int("TASKHUB_APPEAL_WINDOW_DAYS", default=7))
# The task page sends a heartbeat this often while visible and in use; the server credits at
# most this many seconds per beat, whatever the client claims.
TASKHUB_HEARTBEAT_SECONDS = env.int("TASKHUB_HEARTBEAT_SECONDS", default=30)
TASKHUB_LOW_GRADE_REASON_MIN_CHARS = env.int("TASKHUB_LOW_GRADE_REASON_MIN_CHARS", default=20)
TASKHUB_APPEAL_REASON_MIN_CHARS = env.int("TASKHUB_APPEAL_REASON_MIN_CHARS", default=20)
TASKHUB_DECISION_REASON_MIN_CHARS = env.int("TASKHUB_DECISION_REASON_MIN_CHARS", default=20)
# Every Nth item of a reviewer's queue is a gold item, graded blind to calibrate.
TASKHUB_REVIEW_GOLD_EVERY = env.int("TASKHUB_REVIEW_GOLD_EVERY", default=5)
TASKHUB_DRAFT_MAX_BYTES = env.int("TASKHUB_DRAFT_MAX_BYTES", default=200_000)
# Data out (issue 18): exports, API tokens and webhooks.
# Exported files are kept this many days, then deleted by beat (the export records stay).
TASKHUB_EXPORT_KEEP_DAYS = env.int("TASKHUB_EXPORT_KEEP_DAYS", default=14)
# The key of the per-project contractor pseudonyms in exports; changing it changes every pseudonym.
TASKHUB_PSEUDONYM_KEY = env.str("TASKHUB_PSEUDONYM_KEY", default="") or SECRET_KEY
# A webhook delivery is tried this many times, waiting 30 s, 1 min, 2 min, ... (at most an hour) between.
TASKHUB_WEBHOOK_MAX_ATTEMPTS = env.int("TASKHUB_WEBHOOK_MAX_ATTEMPTS", default=8)
TASKHUB_WEBHOOK_TIMEOUT_SECONDS = env.float("TASKHUB_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Models (issue 21): red-team conversations and generated pairwise batches.
# No reply streams longer than this, whatever an endpoint allows (a stream holds a web worker thread).
TASKHUB_MODEL_MAX_REPLY_SECONDS = env.int("TASKHUB_MODEL_MAX_REPLY_SECONDS", default=180)
# Replies one web process streams at once; more wait with "the model is busy" (gunicorn_config.py
# gives each process more threads than this, so ordinary pages always have a thread).
TASKHUB_MODEL_STREAMS_PER_PROCESS = env.int("TASKHUB_MODEL_STREAMS_PER_PROCESS", default=6)
TASKHUB_MODEL_PROMPT_MAX_CHARS = env.int("TASKHUB_MODEL_PROMPT_MAX_CHARS", default=20_000)
# Pairwise generation: prompts per file, tries of one reply, the longest wait between tries, and how
# long one Celery task generates before handing over to the next (far below the task time limits).
TASKHUB_GENERATION_MAX_PROMPTS = env.int("TASKHUB_GENERATION_MAX_PROMPTS", default=10_000)
TASKHUB_GENERATION_ATTEMPTS = env.int("TASKHUB_GENERATION_ATTEMPTS", default=3)
TASKHUB_GENERATION_MAX_WAIT_SECONDS = env.int("TASKHUB_GENERATION_MAX_WAIT_SECONDS", default=30)
TASKHUB_GENERATION_SLICE_SECONDS = env.int("TASKHUB_GENERATION_SLICE_SECONDS", default=120)
# Where the demo's red-team project finds its model (`make run` starts a stand-in there).
TASKHUB_DEMO_MODEL_URL = env.str("TASKHUB_DEMO_MODEL_URL", default="http://127.0.0.1:8011/v1")
