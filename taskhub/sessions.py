"""Sessions read from Redis, kept in PostgreSQL (SESSION_ENGINE = "taskhub.sessions").

Every request reads its session; Django's `cached_db` engine answers that from the cache and
writes through to the database, so a signed-in request costs no session query. Two changes to it:

- a Redis that is down costs nothing but speed: a session read from the database is put in the
  cache only if the cache answers (Django's engine lets that error end the request), so the pages
  that need no Redis keep working without it;
- a session is deleted (sign-out) from the cache before the database, and a cache that cannot
  delete it fails the sign-out: the other order could leave a session alive in Redis after its row
  was gone.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # a Redis that is down (or an invalid key): read the database
            logger.warning("session cache unavailable; reading the session from the database", exc_info=True)
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception:
            logger.warning("session cache unavailable; the session is read from the database", exc_info=True)
        return data

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache.delete(self.cache_key_prefix + session_key)
        super(cached_db.SessionStore, self).delete(session_key)
