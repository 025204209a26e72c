"""A sandbox payment provider with test cards, like real processors' test modes.

Test cards (any future expiry, any 3-digit CVC):
  4242 4242 4242 4242  Visa, succeeds
  5555 5555 5555 4444  Mastercard, succeeds
  4000 0000 0000 0002  Visa, declined
  4000 0000 0000 0119  Visa, fails transiently (processing error) on every charge
Tokens are ``tok_sandbox_<outcome>_<random>``; the outcome rides in the token so charges need
no card data. Charges are remembered per idempotency key, as a real provider does.
"""

from __future__ import annotations

import re
import secrets
import threading
from datetime import date

from ..clock import SYSTEM_CLOCK
from ..domain.money import Money
from .provider import Card, Charge, Declined, ProviderUnavailable

TEST_CARDS = {
    "4242424242424242": ("visa", "ok"),
    "5555555555554444": ("mastercard", "ok"),
    "4000000000000002": ("visa", "decline"),
    "4000000000000119": ("visa", "error"),
}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        checksum += d
    return checksum % 10 == 0


class SandboxProvider:
    def __init__(self) -> None:
        self._charges: dict[str, Charge] = {}
        self._lock = threading.Lock()

    def tokenize(self, card_number: str, exp_month: int, exp_year: int, cvc: str, *, today: date | None = None) -> Card:
        number = re.sub(r"[\s-]", "", card_number or "")
        if not number.isdigit() or not 13 <= len(number) <= 19 or not luhn_ok(number):
            raise ValueError("That card number isn't valid.")
        # The expiry is checked against the caller's day (the billing clock, so a pinned test or
        # demo day agrees with the seed's card expiries); a real processor checks its own.
        today = today or SYSTEM_CLOCK.today()
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (today.year, today.month):
            raise ValueError("That expiry date has passed.")
        if not re.fullmatch(r"\d{3,4}", cvc or ""):
            raise ValueError("The security code is 3 or 4 digits.")
        brand, outcome = TEST_CARDS.get(number, ("visa" if number[0] == "4" else "card", "ok"))
        return Card(f"tok_sandbox_{outcome}_{secrets.token_hex(8)}", brand, number[-4:], exp_month, exp_year)

    def charge(self, token: str, amount: Money, *, idempotency_key: str, description: str) -> Charge:
        with self._lock:
            if idempotency_key in self._charges:
                return self._charges[idempotency_key]
        if not token.startswith("tok_sandbox_"):
            raise Declined("unknown card token")
        if token.startswith("tok_sandbox_decline_"):
            raise Declined("card declined")
        if token.startswith("tok_sandbox_error_"):
            raise ProviderUnavailable("processing error")
        charge = Charge(f"ch_sandbox_{secrets.token_hex(8)}")
        with self._lock:
            return self._charges.setdefault(idempotency_key, charge)


_provider: SandboxProvider | None = None


def get_provider() -> SandboxProvider:
    """The process's provider. Replace this factory to plug in a real processor."""
    global _provider
    if _provider is None:
        _provider = SandboxProvider()
    return _provider
