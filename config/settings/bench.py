"""The rush benchmark (`make bench-rush`): production settings on 127.0.0.1, plus the bare
ceiling endpoints. Only what a benchmark on one machine needs differs from production."""

from .production import *  # noqa: F403
from .production import LOG_FORMAT, POSTGRES_OPTIONS, build_logging, env

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False  # plain HTTP on 127.0.0.1
SECURE_HSTS_SECONDS = 0
# Thousands of simulated residents log in from 127.0.0.1: the per-address login limit would refuse
# them. The limits are tested in tests/security/test_rate_limits.py, not measured here.
RATELIMIT_ENABLE = False
BENCH_ENDPOINTS = True
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = None  # persistent connections: a new one per request costs ~5x
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["OPTIONS"] = {**POSTGRES_OPTIONS, "connect_timeout": 5}
# Logging thousands of simulated residents in before T0 must take seconds, not a half hour of
# PBKDF2: login is not what the rush measures. Never in production.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = build_logging(json=LOG_FORMAT == "json", quiet=True)
