"""Who is on the other end of a widget connection, decided by the gateway alone.

- Anonymous visitors hold a *visitor token* the gateway signed: ``v1.<random id>.<HMAC>``. A
  token that fails the check is replaced by a fresh one, so guessing or editing ids reaches no
  one else's conversation.
- Logged-in customers: the vendor's page passes a JWT it signed (HS256 with a shared secret, or
  RS256 with the vendor's key pair). ``exp``, ``aud`` and ``iss`` are required and checked; the
  verified ``email`` becomes the identity Rasa acts for.
- The Rasa sender id is derived here from the verified id or email (keyed hash), never taken from
  the client: ``wv-<visitor id>`` or ``wu-<hash of the email>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from ..config import GatewaySettings
from ..rasa import Identity

_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{22,32}$")
_MAX_TOKEN = 8_192


class TokenRefused(Exception):
    """The JWT is not acceptable; ``str()`` is a message for the person at the keyboard and
    ``code`` says why (expired, invalid)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


EXPIRED = "Your sign-in has expired, so I can't act on your account. Reload the page (or sign in again) to continue."
INVALID = (
    "I couldn't verify your sign-in, so this chat can't act on your account. Reload the page or sign in "
    "again; if it keeps happening, call us on 1-800-667-6389."
)


@dataclass(frozen=True)
class Who:
    """The verified party of a connection."""

    sender: str  # Rasa sender id, derived on the server
    email: str | None = None
    name: str | None = None
    visitor_token: str | None = None  # anonymous visitors: the signed token to keep
    expires: float | None = None  # logged-in customers: the token's exp (epoch seconds)

    @property
    def known(self) -> bool:
        return self.email is not None

    def identity(self) -> Identity | None:
        if self.email is None:
            return None
        return {"email": self.email, **({"name": self.name} if self.name else {})}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class VisitorIds:
    """Signs and checks anonymous visitor tokens with the gateway's key."""

    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("WIDGET_SIGNING_KEY must be at least 16 characters")
        self._key = key.encode()

    def _mac(self, visitor_id: str) -> str:
        return _b64(hmac.new(self._key, b"visitor:" + visitor_id.encode(), hashlib.sha256).digest()[:18])

    def new(self) -> str:
        visitor_id = _b64(secrets.token_bytes(18))  # 24 characters
        return f"v1.{visitor_id}.{self._mac(visitor_id)}"

    def check(self, token: object) -> str | None:
        """The visitor id inside a genuine token, else None."""
        if not isinstance(token, str) or len(token) > 100:
            return None
        version, _, rest = token.partition(".")
        visitor_id, _, mac = rest.partition(".")
        if version != "v1" or not _VISITOR_ID.match(visitor_id):
            return None
        return visitor_id if hmac.compare_digest(mac.encode(), self._mac(visitor_id).encode()) else None

    def visitor(self, token: object) -> Who:
        """The visitor a token names, or a new visitor when it is missing, forged or malformed."""
        visitor_id = self.check(token)
        if visitor_id is None or not isinstance(token, str):  # check() finds ids in strings only
            token = self.new()
            visitor_id = token.split(".")[1]
        return Who(sender=f"wv-{visitor_id}", visitor_token=token)

    def user_sender(self, email: str) -> str:
        """A logged-in customer's sender id: one conversation per customer, across tabs and devices,
        without putting the address itself in Rasa's sender ids and logs."""
        digest = hmac.new(self._key, b"user:" + email.lower().encode(), hashlib.sha256).digest()
        return f"wu-{_b64(digest[:18])}"


def _key_text(value: str) -> str:
    """A PEM key given inline or as a path to a file."""
    value = value.strip()
    if not value or value.startswith("-----BEGIN"):
        return value.replace("\\n", "\n")
    return Path(value).expanduser().read_text()


class Jwts:
    """Verifies the vendor's JWTs (and mints the demo page's one)."""

    ALGORITHMS = ("HS256", "RS256")

    def __init__(self, settings: GatewaySettings) -> None:
        self.algorithm = settings.widget_jwt_algorithm.strip().upper()
        if self.algorithm not in self.ALGORITHMS:
            raise ValueError(f"WIDGET_JWT_ALGORITHM must be one of {', '.join(self.ALGORITHMS)}")
        self.audience = settings.widget_jwt_audience
        self.issuer = settings.widget_jwt_issuer
        self.leeway = settings.widget_jwt_leeway_s
        if self.algorithm == "HS256":
            if len(settings.widget_jwt_secret.encode()) < 32:
                raise ValueError("WIDGET_JWT_SECRET must be at least 32 bytes for HS256")
            self._verify_key = settings.widget_jwt_secret
            self._sign_key: str | None = settings.widget_jwt_secret
        else:
            self._verify_key = _key_text(settings.widget_jwt_public_key)
            if not self._verify_key:
                raise ValueError("RS256 needs WIDGET_JWT_PUBLIC_KEY (PEM text or a file path)")
            self._sign_key = _key_text(settings.widget_jwt_private_key) or None

    def verify(self, token: object) -> tuple[str, str | None]:
        """(email, name) from a genuine, current token; raises ``TokenRefused``."""
        email, name, _ = self.verify_claims(token)
        return email, name

    def verify_claims(self, token: object) -> tuple[str, str | None, float]:
        """(email, name, exp) from a genuine, current token; raises ``TokenRefused``."""
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
            raise TokenRefused(INVALID, "invalid")
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused(EXPIRED, "expired") from None
        except jwt.PyJWTError:
            raise TokenRefused(INVALID, "invalid") from None
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email or len(email) > 254 or claims.get("email_verified") is False:
            raise TokenRefused(INVALID, "invalid")
        name = claims.get("name")
        return (
            email.strip().lower(),
            name.strip()[:100] if isinstance(name, str) and name.strip() else None,
            float(claims["exp"]),
        )

    def expired(self, who: Who) -> bool:
        """Whether a signed-in connection has outlived its token (checked on every message)."""
        return who.expires is not None and time.time() > who.expires + self.leeway

    @property
    def can_mint(self) -> bool:
        return self._sign_key is not None

    def mint(self, email: str, name: str | None = None, ttl_s: int = 3600) -> str:
        """A token as the vendor's site would sign it (the demo page's "logged in" variant, tests)."""
        if self._sign_key is None:
            raise RuntimeError("no signing key for the demo token (RS256 needs WIDGET_JWT_PRIVATE_KEY)")
        now = int(time.time())
        claims = {
            "sub": email,
            "email": email,
            "aud": self.audience,
            "iss": self.issuer,
            "iat": now,
            "exp": now + ttl_s,
            **({"name": name} if name else {}),
        }
        return jwt.encode(claims, self._sign_key, algorithm=self.algorithm)
