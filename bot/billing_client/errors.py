"""One exception hierarchy for everything the billing API (or the way to it) can answer.

    BillingError                 base: .status, .code, .message, .details
    ├── Unauthorized   401       the service token was refused (a deployment problem)
    ├── PaymentFailed  402       the card was declined; nothing was charged
    ├── Forbidden      403       the acting user may not do this; .admins who can grant it
    ├── NotFound       404       no such invoice / quote / order / case ... for this user
    ├── Conflict       409       valid, but the state forbids it (quote_expired, edition_limit, ...)
    ├── Invalid        422       bad input; .fields maps field -> message
    └── Unavailable    5xx, network errors, timeouts: billing can't answer right now

``message`` is written for the end user (the backend's own wording when it sent one);
``code`` is stable and meant for branching (``needs_manage_billing``, ``quote_expired``...).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BillingError",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PaymentFailed",
    "Unauthorized",
    "Unavailable",
    "error_from_response",
]

UNREACHABLE = "Billing can't be reached right now; nothing was changed."
NOT_ANSWERING = "Billing isn't answering right now; nothing was changed."
NOT_ANSWERING_SAFE_TO_RETRY = "Billing isn't answering right now. Trying again is safe: it will not be applied twice."
NOT_ANSWERING_UNKNOWN = (
    "Billing didn't answer in time, so I can't tell whether this went through. Please check before trying again."
)


class BillingError(Exception):
    """Base class. ``status`` is the HTTP status (None when no answer came back)."""

    default_code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = dict(details or {})
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class Unauthorized(BillingError):
    """The billing API refused the caller's token (check BILLING_ACTIONS_TOKEN / BILLING_GATEWAY_TOKEN)."""

    default_code = "unauthenticated"


class PaymentFailed(BillingError):
    """The payment provider declined the payment; nothing was charged."""

    default_code = "payment_failed"


class Forbidden(BillingError):
    """The acting user may not do this (unknown user, no Manage Billing, expired link...)."""

    default_code = "forbidden"

    @property
    def admins(self) -> list[tuple[str, str]]:
        """(name, email) of the system administrators who can grant the missing permission."""
        found = self.details.get("admins") or []
        return [(str(a.get("name", "")), str(a.get("email", ""))) for a in found if isinstance(a, dict)]


class NotFound(BillingError):
    """No such object for this user (another org's objects do not exist for them)."""

    default_code = "not_found"


class Conflict(BillingError):
    """The request is valid but the current state does not allow it."""

    default_code = "conflict"


class Invalid(BillingError):
    """Bad input; nothing was changed."""

    default_code = "invalid"

    @property
    def fields(self) -> dict[str, str]:
        """Field name -> what is wrong with it."""
        found = self.details.get("fields") or {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


class Unavailable(BillingError):
    """Billing (or something it depends on: mail server, payment provider) can't answer now.

    ``code`` is ``unreachable`` (no connection: nothing was sent), ``timeout`` (no answer in
    time), ``bad_response`` (an answer we could not read), or the backend's own code
    (``unavailable``, ``internal``...) when it answered with a 5xx.
    """

    default_code = "unavailable"


_BY_STATUS: dict[int, type[BillingError]] = {
    401: Unauthorized,
    402: PaymentFailed,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}
_GENERIC = {
    401: "Billing refused this service's credentials.",
    402: "The payment didn't go through; nothing was charged.",
    403: "You're not allowed to do that.",
    404: "I couldn't find that.",
    409: "That can't be done right now.",
    422: "Some details are not valid; nothing was changed.",
}


def error_from_response(status: int, body: Any) -> BillingError:
    """The exception for an error answer. ``body`` is the decoded JSON, or None if it was not JSON."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    if status >= 500:
        return Unavailable(message or UNREACHABLE, code=code or "unavailable", details=details, status=status)
    cls = _BY_STATUS.get(status, BillingError)
    return cls(
        message or _GENERIC.get(status, f"Billing answered {status}."), code=code, details=details, status=status
    )
