"""Business errors. The API maps each to one HTTP status; the client maps them back."""

from __future__ import annotations

from typing import Any


class BillingError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class Unauthenticated(BillingError):
    status = 401
    code = "unauthenticated"


class Forbidden(BillingError):
    """The acting user may not do this (not in the org, or lacks Manage Billing)."""

    status = 403
    code = "forbidden"


class NotFound(BillingError):
    status = 404
    code = "not_found"


class Conflict(BillingError):
    """The request is valid but the state does not allow it (quote used, period ended...)."""

    status = 409
    code = "conflict"


class Invalid(BillingError):
    """Bad input. ``details['fields']`` maps field names to messages."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message, code=code, details={"fields": fields or {}})


class PaymentFailed(BillingError):
    """The payment provider declined or could not be reached; nothing was charged."""

    status = 402
    code = "payment_failed"


class Unavailable(BillingError):
    """A dependency (mail server, payment provider) is down; nothing was changed."""

    status = 503
    code = "unavailable"
