"""Short-lived signed links (invoice PDFs, the payment-method page): a JWT (HS256, PyJWT) whose
audience is the link's purpose, so a token made for one kind of link opens no other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt

ALGORITHM = "HS256"


class BadSignature(ValueError):
    """The link was altered, signed with another key, or made for another purpose."""


class Expired(ValueError):
    """The link was genuine but its time is up."""


def sign(key: str, purpose: str, claims: dict[str, Any], expires_at: datetime) -> str:
    return jwt.encode({**claims, "aud": purpose, "exp": int(expires_at.timestamp())}, key, algorithm=ALGORITHM)


def verify(key: str, purpose: str, token: str, *, now: datetime) -> dict[str, Any]:
    try:
        # The expiry is checked below against ``now`` (the caller's clock, bot/billing/clock.py),
        # not PyJWT's, which reads the system time.
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=purpose,
            options={"require": ["exp", "aud"], "verify_exp": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise BadSignature("token made for another purpose") from exc
    except jwt.InvalidTokenError as exc:
        raise BadSignature("altered, malformed or signed with another key") from exc
    if now.timestamp() >= claims["exp"]:
        raise Expired("link expired")
    return claims
