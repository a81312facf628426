"""Production: PostgreSQL and Redis from the environment; secrets never defaulted."""

from .base import *  # noqa: F403
from .base import build_logging, env

SECRET_KEY = env("SECRET_KEY")
DEBUG = False
REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "config.redis_cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
# Bounded waits on Redis (docs/reliability.md): the socket timeout stays above the layer's 5 s
# blocking receive.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_connect_timeout": 2, "socket_timeout": 10}]},
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
# Django's cached_db, but logins and logouts keep working while Redis is down (config/sessions.py).
SESSION_ENGINE = "config.sessions"
# One JSON object per log line, with the request id (config/logging.py); LOG_FORMAT=text to read by eye.
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = build_logging(json=LOG_FORMAT == "json", level=env("LOG_LEVEL", default="INFO"))
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# HTTPS only (`manage.py check --deploy --fail-level WARNING` passes; tests/security/test_deploy.py).
# TLS ends at the load balancer, which must set X-Forwarded-Proto (and overwrite any the client sent);
# plain-HTTP requests are redirected, except the load balancer's health check.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Only the header's directive: nothing is submitted to the browsers' preload list automatically.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
