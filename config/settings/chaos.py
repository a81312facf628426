"""The fault tests' servers (`make chaos`, tests/chaos): production settings on 127.0.0.1, with the
PostgreSQL, Redis and fake Stripe that the tests start and break. Only what running on one machine
over plain HTTP needs differs from production; the timeouts, sessions, cache, Celery and logging
under test are production's."""

from .production import *  # noqa: F403
from .production import env

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False  # plain HTTP on 127.0.0.1
SECURE_HSTS_SECONDS = 0
# Simulated residents log in by the dozen; a real password hash per login would only slow the run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The tests read what the workers sent (lottery results) from files.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default="/tmp/shisetsu-chaos-mail")  # noqa: S108 - test servers only
