"""Settings shared by every environment. Everything variable is read from the environment.

With no environment at all the project runs on an embedded default: SQLite under var/ and a
Celery transport that keeps its queue in files (no server). With DATABASE_URL and
CELERY_BROKER_URL it runs on PostgreSQL and Redis, as compose.yaml and CI do.
"""

import math
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

ROOT_DIR = Path(__file__).resolve().parents[3]
PLATFORM_DIR = ROOT_DIR / "platform"
VAR_DIR = Path(os.environ.get("HOMEPAGE_VAR_DIR", ROOT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """A switch from the environment (1/0, true/false, yes/no, on/off; blank: off), or
    `default` when it is not set; anything else stops the start, naming the variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a switch (1/0, true/false, on/off).")


def env_number(name: str, default, *, kind=float, minimum=None, maximum=None):
    """A number from the environment (`kind`: float or int), or `default` when it is not
    set. A value that is not such a number, or lies outside [minimum, maximum], stops the
    start with a message that names the variable and its value."""
    text = os.environ.get(name)
    if text is None:
        return kind(default)
    try:
        value = kind(text.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ImproperlyConfigured(f"{name}={text!r} is not {what}.") from None
    if kind is float and not math.isfinite(value):
        raise ImproperlyConfigured(f"{name}={text!r} is not a finite number.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={text!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={text!r} must be at most {maximum}.")
    return value


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-dev-key-do-not-use-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],web").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog",
    "members",
    "events",
    "modeling",
    "homepage",
    "api",
    "lab",
    "exploration",
    "rollouts",
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
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [ROOT_DIR / "frontend" / "templates"],
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

# --- database -------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker share one file: WAL lets readers go on while the worker writes,
    # IMMEDIATE transactions take the write lock up front instead of failing mid-transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
else:
    # A persistent connection the server dropped (a restart, pg_terminate_backend, a network
    # blip) is checked before a request or task reuses it and replaced if dead, so requests
    # recover without a restart instead of failing once per process.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env_bool("HOMEPAGE_DB_PREPARE", True):
        # Parameters go to the server apart from the query, and a query a connection runs a
        # fifth time is prepared: PostgreSQL plans it once, not on every request (a page
        # from a plan runs the same four queries each time, and planning them cost more
        # than running them; docs/benchmarks.md, "Prepared statements"). Off (0) behind a
        # pooler in transaction mode, which cannot keep a connection's prepared statements.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = ROOT_DIR / "frontend" / "node_modules"  # `make npm`: pinned in package-lock.json
STATICFILES_DIRS = [
    ROOT_DIR / "frontend" / "static",
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]

# --- API ------------------------------------------------------------------------------------
# The largest request body the API reads (bytes); a full batch of 500 events is about 150 KB.
# A larger body is refused with 413 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_number("HOMEPAGE_MAX_BODY_BYTES", 1_000_000, kind=int, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in, JSON out: no form bodies (they cannot carry a batch) and no browsable HTML pages.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Unauthenticated requests (sign-in, the schema) are rate limited per client address, and
    # failed sign-ins separately per address and per username (api.views.auth). The counts
    # live in the default cache: per process, so N web processes allow N times the rate.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("HOMEPAGE_ANON_RATE", "1000/minute"),
        "login_failures_address": os.environ.get("HOMEPAGE_LOGIN_FAILURE_RATE", "10/minute"),
        "login_failures_username": os.environ.get("HOMEPAGE_LOGIN_FAILURE_USER_RATE", "30/hour"),
    },
    # A client's address is REMOTE_ADDR unless we sit behind proxies that set X-Forwarded-For
    # (say how many): trusting the header from anyone would let a client pick its own address.
    "NUM_PROXIES": env_number("HOMEPAGE_NUM_PROXIES", 0, kind=int, minimum=0),
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Homepage loop API",
    "DESCRIPTION": "Personalized homepage, event log and model registry of the homepage loop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Ids in paths are database keys: a positive 64-bit integer (api.urls.IdConverter).
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
    },
}
# Throttle counts, in memory per process. Deliberately not Redis: the API must keep serving
# when the broker's Redis is down, and a throttle that needs Redis would turn that into 500s.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded default: the queue is a folder, so a worker needs no server.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # A task taken but not acknowledged (its worker was killed) goes back on the queue after
    # this many seconds. It must be longer than the longest retrain, or a retrain still running
    # is handed to a second worker (which then finds the run locked and leaves it alone).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_number("HOMEPAGE_BROKER_VISIBILITY_TIMEOUT", 3600, minimum=0)
    }
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("HOMEPAGE_CELERY_QUEUE", "homepage")
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge a task when it ends, not when it starts, and put it back on the queue if the
# process running it dies: a worker killed mid-retrain (kill -9, out of memory) loses no run.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
RETRAIN_INTERVAL_SECONDS = env_number("HOMEPAGE_RETRAIN_INTERVAL_SECONDS", 3600, minimum=0)
EXPLORATION_UPDATE_INTERVAL_SECONDS = env_number(
    "HOMEPAGE_EXPLORATION_UPDATE_INTERVAL_SECONDS", 600, minimum=0
)
ROLLOUTS_READOUT_INTERVAL_SECONDS = env_number(
    "HOMEPAGE_ROLLOUTS_READOUT_INTERVAL_SECONDS", 300, minimum=0
)
CELERY_BEAT_SCHEDULE = {
    "retrain-periodically": {
        "task": "modeling.tasks.retrain",
        "schedule": RETRAIN_INTERVAL_SECONDS,
    },
    "exploration-update-periodically": {
        "task": "exploration.tasks.update",
        "schedule": EXPLORATION_UPDATE_INTERVAL_SECONDS,
    },
    "rollouts-readouts-periodically": {
        "task": "rollouts.tasks.readouts",
        "schedule": ROLLOUTS_READOUT_INTERVAL_SECONDS,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- the loop -------------------------------------------------------------------------------
MODEL_DIR = Path(os.environ.get("HOMEPAGE_MODEL_DIR", VAR_DIR / "models"))
HOMEPAGE_ROW_SIZE = env_number("HOMEPAGE_ROW_SIZE", 20, kind=int, minimum=1)
# A member's page computed once serves their pages at the present for this many seconds,
# while nothing it was computed from changes (homepage.plans); 0: every page computes its own.
# Everything a page reads that can change is in its plan's key, so this bounds only what time
# alone changes (trending counts, titles whose entry time passes); each visiting member costs
# one page computed per period, so 60 s spent half of two cores on refreshes under the load
# bench's traffic (docs/benchmarks.md, "The floor of a page").
HOMEPAGE_PLAN_SECONDS = env_number("HOMEPAGE_PLAN_SECONDS", 300, minimum=0)
HOMEPAGE_PLANS_KEPT = env_number("HOMEPAGE_PLANS_KEPT", 500, kind=int, minimum=0)  # per web process
# A plan this close to the end of its HOMEPAGE_PLAN_SECONDS that serves a page is computed
# again off the request, so the member's next page is served from the new one (0: off); each
# plan comes due up to as long again earlier, at a point of its own (homepage.plans).
HOMEPAGE_PLAN_REFRESH_SECONDS = env_number("HOMEPAGE_PLAN_REFRESH_SECONDS", 15, minimum=0)
# After a promotion, a worker computes ahead the plans of the members served a page in the
# last this many seconds, into the shared plan store (homepage.tasks.plans_warm; 0: never).
HOMEPAGE_PLAN_WARM_SECONDS = env_number("HOMEPAGE_PLAN_WARM_SECONDS", 900, minimum=0)
# A Redis server where finished plans are shared by every web process and replica (blank:
# each process keeps its own only). Short timeouts: when it is down, pages are computed.
HOMEPAGE_PLAN_CACHE = ""
if _plan_cache_url := os.environ.get("HOMEPAGE_PLAN_CACHE_URL", "").strip():
    if not _plan_cache_url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"HOMEPAGE_PLAN_CACHE_URL={_plan_cache_url!r} is not a Redis URL "
            "(redis://host:port/db, rediss:// or unix://)."
        )
    HOMEPAGE_PLAN_CACHE = "plans"
    CACHES["plans"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _plan_cache_url,
        "KEY_PREFIX": "homepage",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
# Candidate model kinds each retrain trains and puts through the promotion gate, in order.
MODELING_CANDIDATES = os.environ.get("HOMEPAGE_CANDIDATES", "popularity,ease,mf,sasrec").split(",")
MODELING_HOLDOUT_FRACTION = env_number("HOMEPAGE_HOLDOUT_FRACTION", 0.2, minimum=0, maximum=1)
MODELING_SEED = env_number("HOMEPAGE_MODELING_SEED", 0, kind=int)
# A candidate that passes the gate against a model in production goes to a canary experiment
# (rollouts), and serves everyone only if it ships; off: the gate promotes it directly.
MODELING_PROMOTE_VIA_CANARY = env_bool("HOMEPAGE_PROMOTE_VIA_CANARY", True)
# Off-policy evaluation in the promotion gate (modeling.ope, docs/ope.md#in-the-promotion-gate):
# fewer explored impressions than this in the holdout period and the OPE check is skipped.
MODELING_OPE_MIN_IMPRESSIONS = env_number("HOMEPAGE_OPE_MIN_IMPRESSIONS", 200, kind=int, minimum=0)
# A version's target policy on an explored slot: softmax at this temperature over its scores of
# the logged eligible titles (standardized over them), mixed with this floor of uniform.
MODELING_OPE_TEMPERATURE = env_number("HOMEPAGE_OPE_TEMPERATURE", 0.5, minimum=0)
MODELING_OPE_FLOOR = env_number("HOMEPAGE_OPE_FLOOR", 0.05, minimum=0, maximum=1)
MODELING_OPE_REPLICATES = env_number("HOMEPAGE_OPE_REPLICATES", 500, kind=int, minimum=1)

# --- the explorer (platform/exploration, docs/exploration.md) ------------------------------
# Each use's policy and rate are ExplorerConfig rows (admin, or PUT /api/v1/exploration/
# configs/<use>); these are the shapes around them.
EXPLORATION_ARTWORK_VARIANTS = env_number("HOMEPAGE_ARTWORK_VARIANTS", 4, kind=int, minimum=1)
# Titles eligible for an exploration slot (and logged with their scores on the page).
EXPLORATION_CANDIDATES = env_number("HOMEPAGE_EXPLORATION_CANDIDATES", 50, kind=int, minimum=1)
# At most this many ordered rows on a page when the row-order explorer is on (billboard apart).
EXPLORATION_MAX_ROWS = env_number("HOMEPAGE_EXPLORATION_MAX_ROWS", 6, kind=int, minimum=1)
# A play counts as the reward of an impression of its title to the member within this window.
EXPLORATION_ATTRIBUTION_SECONDS = env_number(
    "HOMEPAGE_EXPLORATION_ATTRIBUTION_SECONDS", 6 * 3600, minimum=0
)
# An update passes over no page written less than this long ago (one still committing).
EXPLORATION_COMMIT_GRACE_SECONDS = env_number(
    "HOMEPAGE_EXPLORATION_COMMIT_GRACE_SECONDS", 60, minimum=0
)
# Feedback rows one update reads at most per use (the rest wait for the next run).
EXPLORATION_UPDATE_BATCH = env_number(
    "HOMEPAGE_EXPLORATION_UPDATE_BATCH", 20000, kind=int, minimum=1
)

# --- online experiments (platform/rollouts, docs/rollouts.md) -----------------------------
# Days are simulated days: the pages' clock (served_at), from each experiment's start.
# Retention on day d: of the members first seen before day d - N, the share seen since.
ROLLOUTS_RETENTION_DAYS = env_number("HOMEPAGE_ROLLOUTS_RETENTION_DAYS", 7, kind=int, minimum=0)
# CUPED's covariate: each member's streaming minutes per day over this many days before the start.
ROLLOUTS_PRE_DAYS = env_number("HOMEPAGE_ROLLOUTS_PRE_DAYS", 14, kind=int, minimum=0)
ROLLOUTS_ALPHA = env_number("HOMEPAGE_ROLLOUTS_ALPHA", 0.05, minimum=0, maximum=1)
# A canary holds each share this many days before it advances, and gives up ("no winner")
# after this many days in all; a candidate's page latency more than this fraction above
# control's (always-valid interval) is a breached guardrail.
ROLLOUTS_CANARY_MIN_DAYS = env_number("HOMEPAGE_ROLLOUTS_CANARY_MIN_DAYS", 1, kind=int, minimum=0)
ROLLOUTS_CANARY_MAX_DAYS = env_number("HOMEPAGE_ROLLOUTS_CANARY_MAX_DAYS", 28, kind=int, minimum=0)
ROLLOUTS_LATENCY_MARGIN = env_number("HOMEPAGE_ROLLOUTS_LATENCY_MARGIN", 0.10, minimum=0)

# --- the lab (staff only, /lab) --------------------------------------------------------------
# Simulated traffic runs the simulator's HTTP client against this base URL, on the world in
# LAB_WORLD_DIR, from a Celery task on a queue of its own (a long run must not hold up retrains).
LAB_WORLD_DIR = Path(os.environ.get("HOMEPAGE_LAB_WORLD_DIR", VAR_DIR / "world"))
LAB_BASE_URL = os.environ.get("HOMEPAGE_LAB_BASE_URL", "http://127.0.0.1:8000")
LAB_TRAFFIC_QUEUE = os.environ.get(
    "HOMEPAGE_LAB_TRAFFIC_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-traffic"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HOMEPAGE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Serve the frontend's static files straight from their folders (no collectstatic step needed).
WHITENOISE_USE_FINDERS = True
