"""Short-lived signed links (invoice PDFs, the payment-method page): HMAC-SHA256 over JSON."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone


class BadSignature(ValueError):
    """The link was altered, signed with another key, or made for another purpose."""


class Expired(ValueError):
    """The link was genuine but its time is up."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: str, purpose: str, claims: dict, expires_at: datetime) -> str:
    body = _b64(json.dumps({**claims, "p": purpose, "exp": int(expires_at.timestamp())},
                           separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(key: str, purpose: str, token: str, *, now: datetime | None = None) -> dict:
    try:
        body, mac = token.split(".")
        expected = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise BadSignature("signature mismatch")
        claims = json.loads(_unb64(body))
    except (ValueError, TypeError) as exc:
        if isinstance(exc, BadSignature):
            raise
        raise BadSignature("malformed token") from exc
    if claims.get("p") != purpose:
        raise BadSignature("token made for another purpose")
    now = now or datetime.now(timezone.utc)
    if now.timestamp() >= claims["exp"]:
        raise Expired("link expired")
    return claims
