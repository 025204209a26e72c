"""Input checks shared by the services. Each raises Invalid with a field error.

Free text (what a person typed: a case's description, a handoff's reason, a note, a name, an
address) goes through ``free_text``: card numbers become CARDNUMBER with the redactor the
gateway and NLU use, whoever called, so the system of record never holds one. Error messages
never repeat a card either."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from bot.nlu.cards import redact

from ..domain.errors import Invalid

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normalise_email(value: str, *, field: str = "email") -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except (EmailNotValidError, AttributeError) as exc:
        raise Invalid(
            f"{_quoted(value)} doesn't look like an email address.", fields={field: "not a valid email address"}
        ) from exc


def normalise_phone(value: str, *, field: str = "phone", default_country_code: str = "1") -> str:
    """Return E.164 (+15551234567). Accepts spaces, dashes, dots, brackets; a 10-digit number
    without a country code is taken as North American."""
    digits = re.sub(r"[\s\-.()]", "", value or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if len(digits) == 10 and digits.isdigit():
            digits = f"+{default_country_code}{digits}"
        elif len(digits) == 11 and digits.startswith("1") and digits.isdigit():
            digits = "+" + digits
    if not E164.match(digits):
        raise Invalid(
            f"{_quoted(value)} doesn't look like a phone number. Include the country code, e.g. +1 415 555 0100.",
            fields={field: "not a valid phone number"},
        )
    return digits


def free_text(value: str | None) -> str:
    """Text someone wrote, stripped, with its card numbers replaced by CARDNUMBER."""
    return redact((value or "").strip())[0]


def _quoted(value: object) -> str:
    """``value`` as an error message quotes it: repr, card numbers removed."""
    return repr(redact(value)[0] if isinstance(value, str) else value)


def required_text(value: str | None, field: str, *, max_len: int, label: str | None = None) -> str:
    text = free_text(value)
    if not text:
        raise Invalid(f"Please give the {label or field}.", fields={field: "required"})
    if len(text) > max_len:
        raise Invalid(
            f"The {label or field} is too long ({max_len} characters at most).",
            fields={field: f"at most {max_len} characters"},
        )
    return text
