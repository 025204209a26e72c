"""The payment-provider seam. A real processor implements PaymentProvider; the demo uses the sandbox.

The backend only ever holds a provider's token plus brand, last 4 and expiry. Charges carry an
idempotency key, which a real processor honours the same way (a retry never charges twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ..domain.money import Money


@dataclass(frozen=True)
class Card:
    """What the provider tells us about a card: never the number."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class Charge:
    reference: str


class Declined(Exception):
    """The card was declined: a definite no, safe to tell the customer."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or failed transiently: nothing was charged."""


class PaymentProvider(Protocol):
    def charge(self, token: str, amount: Money, *, idempotency_key: str, description: str) -> Charge: ...

    def tokenize(self, card_number: str, exp_month: int, exp_year: int, cvc: str, *, today: date | None = None) -> Card:
        """Hosted-form side: turn a card into a token. Runs in the provider's page, not the bot.
        ``today``: the backend clock's day, for the expiry check (None: the provider's own)."""
        ...
