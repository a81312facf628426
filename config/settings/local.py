"""`make run`: embedded defaults, no servers needed (SQLite, in-memory channels, eager Celery)."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=True)
(BASE_DIR / "var").mkdir(exist_ok=True)

# The local fake Stripe that `make run` starts (python -m payments.fake_stripe --port 12111).
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_local_fake")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_local_fake")
