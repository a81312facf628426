"""Settings shared by every environment. Environment-specific files override what differs."""

from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "reservations.middleware.WaitingRoomMiddleware",
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

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

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

REDIS_URL = env("REDIS_URL", default="")

CACHES: dict[str, dict[str, Any]] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a process trusts its in-memory copy of the catalogue version (rooms, bands, tariffs):
# a catalogue edit reaches other processes within this many seconds.
CATALOGUE_VERSION_MEMO_SECONDS = env.float("CATALOGUE_VERSION_MEMO_SECONDS", default=2.0)
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# One beat schedule: the lottery's tick performs every due step (open, close, draw, expire, release).
CELERY_BEAT_SCHEDULE = {
    "lottery-tick": {"task": "lottery.tasks.tick", "schedule": 60.0},
    # Expire unpaid bookings, reconcile open card payments, execute approved refunds.
    "payments-tick": {"task": "payments.tasks.tick", "schedule": 60.0},
}

# Stripe (payments/gateway.py is the only module that talks to it). `make run` points these at the
# local fake (python -m payments.fake_stripe); production sets the real keys in the environment.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# A Japanese TrueType font embedded in receipts and permits (payments/documents.py), e.g.
# /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf; empty: reportlab's built-in CID font.
# The Japanese font embedded in receipts and permits: IPAex Gothic, which `make fonts` installs
# from Debian's fonts-ipaexfont-gothic (make run and make test call it).
PDF_FONT_PATH = env("PDF_FONT_PATH", default="/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The ward this installation serves, shown on pages and e-mails.
WARD_NAME = env("WARD_NAME", default="文京区")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # 4xx answers such as 409 "just taken" are the normal answer to most of the 09:00 crowd;
    # logging each would put disk I/O on the hot path. Server errors are still logged.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# The waiting room for the opening minute of first-come booking (needs Redis; off by default).
WAITING_ROOM_ENABLED = env.bool("WAITING_ROOM", default=False)
WAITING_ROOM_ARRIVAL_SECONDS = env.int("WAITING_ROOM_ARRIVAL_SECONDS", default=60)
WAITING_ROOM_ADMIT_PER_SECOND = env.float("WAITING_ROOM_ADMIT_PER_SECOND", default=40.0)
WAITING_ROOM_LEAD_SECONDS = env.int("WAITING_ROOM_LEAD_SECONDS", default=1800)
