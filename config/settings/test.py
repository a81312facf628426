"""`make test`: the whole suite on real PostgreSQL and Redis."""

from .base import *  # noqa: F403
from .base import POSTGRES_OPTIONS, env

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/shisetsu"),
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {**POSTGRES_OPTIONS, "connect_timeout": 5}

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "config.redis_cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        # One prefix per xdist worker: the workers' databases reuse ids, their caches must not mix.
        "KEY_PREFIX": "test-" + env("PYTEST_XDIST_WORKER", default="main"),
        # Longer than production's 2 s: a loaded CI machine can stall Redis for seconds.
        "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
    }
}
# Per xdist worker, like the cache: the workers' databases reuse facility ids, their groups must not mix.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "asgi-test-" + env("PYTEST_XDIST_WORKER", default="main")},
    }
}
# Likewise: a stalled Redis would let a test's resident through the waiting room (it fails open).
WAITING_ROOM_REDIS_TIMEOUT = 5.0
LIVE_KEY_PREFIX = "test-" + env("PYTEST_XDIST_WORKER", default="main") + ":"
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

CATALOGUE_VERSION_MEMO_SECONDS = 0.0
AVAILABILITY_RERENDER_SECONDS = 0.0

# Tests start the fake Stripe on a free port and point STRIPE_API_BASE at it (tests/payments).
STRIPE_API_BASE = "http://127.0.0.1:9"
STRIPE_SECRET_KEY = "sk_test_suite"
STRIPE_WEBHOOK_SECRET = "whsec_suite"
