"""The session cookie, the CSRF token of POST forms, and make run's one-time sign-in link.

**Cookie**: a JWT signed with ``CONSOLE_SESSION_KEY`` (HS256, PyJWT) holding only the session's
random id and its expiry; HttpOnly (no script reads it), SameSite=Lax (another site's form posts
do not carry it), Secure over https (which production requires), path ``/console``. The session row (staff.py) is the
authority: a valid signature on a closed or expired session opens nothing.

**CSRF**: every POST form carries ``csrf`` = HMAC-SHA256(key, "csrf:" + session id), compared in
constant time; it changes with each session and needs no storage.

**Development link**: ``make run`` passes a random token in ``CONSOLE_DEV_SIGNIN_TOKEN`` and prints
``/console/signin/dev/<token>``; it signs in once, as an admin, within ``CONSOLE_DEV_LINK_MINUTES``
of the console's start. Production refuses to start with the token set (__main__.py).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from datetime import datetime, timezone

import jwt

COOKIE = "console_session"
_ALGORITHM = "HS256"


class SessionCookie:
    def __init__(self, key: str, *, secure: bool) -> None:
        self._key = key
        self.secure = secure

    def encode(self, sid: str, expires: datetime) -> str:
        return jwt.encode({"sid": sid, "exp": int(expires.timestamp())}, self._key, algorithm=_ALGORITHM)

    def decode(self, value: str | None) -> str | None:
        """The session id of a cookie this console signed and that has not expired, or None."""
        if not value:
            return None
        try:
            claims = jwt.decode(value, self._key, algorithms=[_ALGORITHM], options={"require": ["exp", "sid"]})
        except jwt.PyJWTError:
            return None
        sid = claims.get("sid")
        return sid if isinstance(sid, str) and sid else None

    def csrf(self, sid: str) -> str:
        return hmac.new(self._key.encode(), f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf(sid), str(given))

    def cookie_args(self, expires: datetime) -> dict[str, object]:
        return {
            "key": COOKIE,
            "max_age": max(0, int((expires - datetime.now(timezone.utc)).total_seconds())),
            "path": "/console",
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
        }


class DevLink:
    """The one-time development sign-in link's token: used once, or expired, it opens nothing."""

    def __init__(self, token: str, minutes: float) -> None:
        self._digest = hashlib.sha256(token.encode()).digest() if token else b""
        self._deadline = time.monotonic() + minutes * 60
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._digest) and time.monotonic() < self._deadline

    def use(self, token: str) -> bool:
        """True exactly once, for the right token before the deadline."""
        given = hashlib.sha256(token.encode()).digest()
        with self._lock:
            if not self.active or not hmac.compare_digest(given, self._digest):
                return False
            self._digest = b""
            return True
