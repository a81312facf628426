"""Settings shared by every environment. Environment-specific files override what differs."""

from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab

from config.logging import build as build_logging

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "daphne",
    # Django's admin with a site that requires a staff login verified by a one-time code (2FA).
    "kiosks.two_factor_apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    "ninja",
    "reservations",
    "lottery",
    "payments",
    "kiosks",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    # (In front of all of this, config/wsgi.py replays the "already taken" answer to a booking page
    # from memory once Django has given it and while the slot stays refused alike:
    # config/refusal_replay.py.)
    # First: every later middleware's log lines carry the request id (config/request_id.py).
    "config.request_id.RequestIdMiddleware",
    # A request whose client already closed its connection (gave up waiting) is dropped, 499,
    # before any work is done for it (reservations/abandoned.py).
    "reservations.abandoned.AbandonedRequestMiddleware",
    # A database or Redis outage raised by a view answers 503 + Retry-After (config/unavailable.py).
    "config.unavailable.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.CSPMiddleware",
    "config.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Page views per day and channel for the monthly reports: an in-process tally, no DB write
    # (kiosks/access_counter.py).
    "kiosks.access_counter.AccessCountMiddleware",
    # Before the session: a refresh in the opening's queue is answered from its signed ticket
    # alone; the gate itself runs as process_view, after the session (reservations/middleware.py).
    "reservations.middleware.WaitingRoomMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the staff login passed its one-time code (kiosks/two_factor.py).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's widget and form templates in their Jinja2 versions, faster on the hot pages (config/form_renderer.py).
FORM_RENDERER = "config.form_renderer.FormRenderer"

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Nothing waits forever on PostgreSQL (docs/reliability.md). libpq's connect_timeout bounds a
# connection attempt; the server cancels a statement running longer than statement_timeout, a lock
# wait longer than lock_timeout, and ends a session left idle inside a transaction (a frozen or
# killed client holding row locks); TCP keepalives and tcp_user_timeout notice a server that
# vanished without closing the connection. Exceeding any of them raises OperationalError, which
# the web answers with 503 (config/unavailable.py). Long maintenance (migrations on big tables)
# runs with DB_STATEMENT_TIMEOUT=0 (docs/runbook.md).
POSTGRES_OPTIONS: dict[str, Any] = {
    "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=3),
    "options": " ".join(
        [
            f"-c statement_timeout={env('DB_STATEMENT_TIMEOUT', default='30s')}",
            f"-c lock_timeout={env('DB_LOCK_TIMEOUT', default='10s')}",
            f"-c idle_in_transaction_session_timeout={env('DB_IDLE_IN_TRANSACTION_TIMEOUT', default='60s')}",
        ]
    ),
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": env.int("DB_TCP_USER_TIMEOUT_MS", default=60_000),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {**POSTGRES_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "reservations.User"
AUTHENTICATION_BACKENDS = ["reservations.auth.UserWithResidentBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reservations:my_bookings"
LOGOUT_REDIRECT_URL = "reservations:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Japanese first; English through gettext. Source strings are Japanese, locale/en has the English.
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "lang"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="施設予約 <noreply@example.jp>")
# An SMTP server that stops answering must not hold a worker forever (Django's default: no timeout).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Retention (reservations/retention.py, docs/deployment.md): a resident with no login, booking, use
# or lottery entry for this many days, and nothing open, has their personal data anonymised by the
# daily beat task (bookings stay, for statistics). 0 turns it off.
RETENTION_INACTIVE_DAYS = env.int("RETENTION_INACTIVE_DAYS", default=3 * 365)

REDIS_URL = env("REDIS_URL", default="")

CACHES: dict[str, dict[str, Any]] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a process trusts its in-memory copy of the catalogue version (rooms, bands, tariffs):
# a catalogue edit reaches other processes within this many seconds.
CATALOGUE_VERSION_MEMO_SECONDS = env.float("CATALOGUE_VERSION_MEMO_SECONDS", default=2.0)
# An availability page outdated by bookings is rendered again at most this often; meanwhile the
# previous rendering is served (reservations/availability_cache.py). 0: after every booking.
AVAILABILITY_RERENDER_SECONDS = env.float("AVAILABILITY_RERENDER_SECONDS", default=5.0)
# How old the lottery's entry counts on the cached public pages may be (lottery/page_cache.py).
LOTTERY_COUNTS_STALE_SECONDS = env.float("LOTTERY_COUNTS_STALE_SECONDS", default=5.0)
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Live availability (kiosks/live.py, docs/live-availability.md). Where browsers open the websocket:
# empty = the page's own host (the proxy sends /ws/ to the ASGI process), or e.g.
# "wss://example.jp:8443" for an ASGI server on another port or host of the same site.
LIVE_WEBSOCKET_URL = env("LIVE_WEBSOCKET_URL", default="")
# Changes to one facility and month are sent at most once per this many seconds, together.
LIVE_COALESCE_SECONDS = env.float("LIVE_COALESCE_SECONDS", default=1.0)
# While a browser's socket is down it re-reads the grid this often.
LIVE_FALLBACK_REFRESH_SECONDS = env.int("LIVE_FALLBACK_REFRESH_SECONDS", default=60)
# Prefix of the coalescing keys in Redis (REDIS_URL).
LIVE_KEY_PREFIX = env("LIVE_KEY_PREFIX", default="")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Faults (docs/reliability.md). A task is acknowledged only after it ran, and a worker that dies
# mid-task (SIGKILL, OOM) gives it back to the queue: every task is idempotent (the ticks' steps,
# the draw's claim). Each worker process takes one task at a time, so a killed one strands no others.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Bounded waits on Redis as the broker: socket timeouts, a health check of idle connections, and an
# unacknowledged task is handed to another worker after visibility_timeout (longer than any task).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
    "health_check_interval": 25,
    "visibility_timeout": 3600,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for Redis to come back, however long
# Publishing from a request (none on the booking path today) gives up after about a second.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# No task runs forever: soft limit (an exception the task may catch), then the process is killed.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1500)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
# Celery leaves the root logger to Django's LOGGING (JSON in production, with request ids).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The ticks' interval (60 s; the fault tests run them faster).
TICK_SECONDS = env.float("TICK_SECONDS", default=60.0)
# /healthz (config/health.py): a beat-scheduled task writes a heartbeat to Redis this often, and
# the check reports Celery stale when the last one is older than HEALTH_CELERY_STALE_SECONDS.
CELERY_HEARTBEAT_SECONDS = env.float("CELERY_HEARTBEAT_SECONDS", default=30.0)
HEALTH_CELERY_STALE_SECONDS = env.float("HEALTH_CELERY_STALE_SECONDS", default=120.0)
# 503 answers during a database or Redis outage ask clients to retry after this many seconds.
SERVICE_UNAVAILABLE_RETRY_AFTER = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER", default=10)
# After a failed Redis call the cache is bypassed this long before trying again (config/redis_cache.py).
CACHE_REDIS_DOWN_SECONDS = env.float("CACHE_REDIS_DOWN_SECONDS", default=5.0)
# Task modules not named tasks.py (autodiscovery finds only those).
CELERY_IMPORTS = ("kiosks.report_tasks", "config.health", "reservations.retention")
# One beat schedule: the lottery's tick performs every due step (open, close, draw, expire, release).
CELERY_BEAT_SCHEDULE = {
    "lottery-tick": {"task": "lottery.tasks.tick", "schedule": TICK_SECONDS},
    # Expire unpaid bookings, reconcile open card payments, execute approved refunds.
    "payments-tick": {"task": "payments.tasks.tick", "schedule": TICK_SECONDS},
    # Move access counts from Redis into the database; record last month's valid users once.
    "reports-tick": {"task": "kiosks.report_tasks.tick", "schedule": 300.0},
    # Reminder e-mails before use (reservations/reminders.py): hourly from 08:00 to 20:00, once per booking.
    "reservation-reminders": {
        "task": "reservations.tasks.send_reminders",
        "schedule": crontab(minute=5, hour="8-20"),
    },
    # The heartbeat /healthz reads (config/health.py).
    "heartbeat": {"task": "config.health.heartbeat", "schedule": CELERY_HEARTBEAT_SECONDS},
    # Anonymise residents inactive for longer than RETENTION_INACTIVE_DAYS (reservations/retention.py).
    "retention-anonymise": {"task": "reservations.retention.anonymise_task", "schedule": crontab(minute=30, hour=3)},
}
# A periodic task queued while every worker was down is dropped when it comes due again instead of
# running late in a pile (the next one does the same, idempotent work).
for _entry in CELERY_BEAT_SCHEDULE.values():
    if isinstance(_entry["schedule"], float):
        _entry.setdefault("options", {}).setdefault("expires", _entry["schedule"])

# Stripe (payments/gateway.py is the only module that talks to it). `make run` points these at the
# local fake (python -m payments.fake_stripe); production sets the real keys in the environment.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Seconds to wait for Stripe to answer one attempt (the SDK retries twice): a slow Stripe answers
# "card payment unavailable" within seconds instead of holding a web worker (docs/reliability.md).
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=5.0)
# A Japanese TrueType font embedded in receipts and permits (payments/documents.py), e.g.
# /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf; empty: reportlab's built-in CID font.
# The Japanese font embedded in receipts and permits: IPAex Gothic, which `make fonts` installs
# from Debian's fonts-ipaexfont-gothic (make run and make test call it).
PDF_FONT_PATH = env("PDF_FONT_PATH", default="/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The ward this installation serves, shown on pages and e-mails.
WARD_NAME = env("WARD_NAME", default="文京区")
# The address residents reach the site at, for links in e-mails sent outside a request (reminders).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Reminder e-mails go out this many days before the day of use (reservations/reminders.py).
REMINDER_DAYS_BEFORE = env.int("REMINDER_DAYS_BEFORE", default=3)

# JSON lines (LOG_FORMAT=json, production's default) or readable text, both with the request id
# (config/logging.py, config/request_id.py). To stderr; retention is the log shipper's (docs/deployment.md).
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = build_logging(json=LOG_FORMAT == "json", level=env("LOG_LEVEL", default="INFO"))

# The waiting room for the opening minute of first-come booking (needs Redis; off by default).
WAITING_ROOM_ENABLED = env.bool("WAITING_ROOM", default=False)
WAITING_ROOM_ARRIVAL_SECONDS = env.int("WAITING_ROOM_ARRIVAL_SECONDS", default=60)
# Residents let in per second once the arrival window ends: what the web servers take while the
# booking step's heavy requests (page, POST) start and bots keep refreshing; 10/s held the booking
# p95 under 1 s on our 2-core VM at full speed, not at half speed, and the lottery intake wanted 3/s
# (docs/performance.md). Measure yours: make bench-rush ADMIT=n, make bench-intake ADMIT=n.
WAITING_ROOM_ADMIT_PER_SECOND = env.float("WAITING_ROOM_ADMIT_PER_SECOND", default=10.0)
WAITING_ROOM_LEAD_SECONDS = env.int("WAITING_ROOM_LEAD_SECONDS", default=1800)
# How long a request waits for Redis before the waiting room lets it through (it fails open).
WAITING_ROOM_REDIS_TIMEOUT = env.float("WAITING_ROOM_REDIS_TIMEOUT", default=0.5)

# Staff two-factor login (docs/security.md): TOTP devices from django-otp, one per staff account.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default=f"施設予約 {WARD_NAME}")
# Wrong codes lock the device for 1, 2, 4, 8 ... seconds after each consecutive failure.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_LOGIN_URL = "staff:two_factor_verify"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Security headers (config/security.py, docs/security.md) ---------------------------------------
# A strict Content-Security-Policy (django-csp): scripts and styles only from our own static files —
# no inline <script>, no on...= handlers, no style= attributes anywhere; nothing may frame the site.
# form-action also gets Stripe Checkout and the fake Stripe's origin (from STRIPE_API_BASE) added by
# config.security.CSPMiddleware, since the checkout form's answer is a redirect there.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Further origins pages may connect to, e.g. the websocket host when it is not this one.
CSP_EXTRA_CONNECT_SRC = env.list("CSP_EXTRA_CONNECT_SRC", default=[])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "config.security.csrf_failure"  # a Japanese page, not Django's technical one
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Rate limits (reservations/ratelimits.py; django-ratelimit counters in the default cache) -----
# Login attempts are limited per client address and per (address, user number), never per user
# number alone: nobody can lock someone else out by failing on purpose. Rates: "count/period".
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_IP_META_KEY = "reservations.ratelimits.client_ip"
# How many proxies (load balancers) in front of the app append to X-Forwarded-For; 0: the client
# is REMOTE_ADDR. Behind one load balancer set TRUSTED_PROXY_COUNT=1.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATE_LIMITS = {
    "login_ip": env("RATE_LIMIT_LOGIN_IP", default="60/10m"),
    "login_account": env("RATE_LIMIT_LOGIN_ACCOUNT", default="10/10m"),
    "password_reset_ip": env("RATE_LIMIT_PASSWORD_RESET_IP", default="10/h"),
    "password_reset_address": env("RATE_LIMIT_PASSWORD_RESET_ADDRESS", default="3/h"),
    "register_ip": env("RATE_LIMIT_REGISTER_IP", default="20/h"),
}
