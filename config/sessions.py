"""Sessions in the database with Redis in front (like Django's cached_db) that keep working while
Redis is down: the database answers alone (the outage itself is logged once per few seconds by
config/redis_cache.py).

Django's cached_db already tolerates a failed cache *write* on save (logging a traceback each
time), but a failed cache read's refill, `exists()` (used when a login cycles the session key) and
`delete()` (logout) raise, so with Redis down nobody could log in or out. Here they fall back to
the database.

One caveat, documented in docs/runbook.md: a logout while Redis is unreachable cannot remove the
cached copy; if that Redis comes back with its data (a network partition rather than a restart;
our Redis keeps no data across restarts), the copy lives until its expiry. Flush the cache's
`django.contrib.sessions.cached_db*` keys after such a partition if that matters.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(CachedDBStore):
    def load(self) -> dict[str, Any]:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # noqa: BLE001 - a cache outage must not cost the session
            logger.debug("session cache unavailable; reading the session from the database")
            return self._load_from_db(refill=False)
        if data is None:
            return self._load_from_db(refill=True)
        return data

    def _load_from_db(self, *, refill: bool) -> dict[str, Any]:
        s = self._get_session_from_db()
        if not s:
            return {}
        data = self.decode(s.session_data)
        if refill:
            try:
                self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=s.expire_date))
            except Exception:  # noqa: BLE001
                logger.debug("session cache unavailable; session not cached")
        return data

    def save(self, must_create: bool = False) -> None:
        # Django's logs every failed cache write with a traceback; the outage is logged already.
        super(CachedDBStore, self).save(must_create)
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:  # noqa: BLE001
            logger.debug("session cache unavailable; session saved in the database only")

    def exists(self, session_key: str) -> bool:
        if not session_key:
            return False
        try:
            if (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception:  # noqa: BLE001
            logger.debug("session cache unavailable; checking the database only")
        return super(CachedDBStore, self).exists(session_key)

    def delete(self, session_key: str | None = None) -> None:
        super(CachedDBStore, self).delete(session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception:  # noqa: BLE001
            logger.warning("session cache unavailable; the cached copy of a deleted session stays until it expires")
