"""`make run`: embedded defaults, no servers needed (SQLite, in-memory channels, eager Celery)."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=True)
(BASE_DIR / "var").mkdir(exist_ok=True)
