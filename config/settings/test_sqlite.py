"""The smoke subset on the embedded default (SQLite), so `make run` stays honest."""

from .base import *  # noqa: F403
from .base import BASE_DIR

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "var" / "test-smoke.sqlite3"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CATALOGUE_VERSION_MEMO_SECONDS = 0.0
AVAILABILITY_RERENDER_SECONDS = 0.0

# Tests start the fake Stripe on a free port and point STRIPE_API_BASE at it (tests/payments).
STRIPE_API_BASE = "http://127.0.0.1:9"
STRIPE_SECRET_KEY = "sk_test_suite"
STRIPE_WEBHOOK_SECRET = "whsec_suite"
