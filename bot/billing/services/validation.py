"""Input checks shared by the services. Each raises Invalid with a field error."""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from ..domain.errors import Invalid

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normalise_email(value: str, *, field: str = "email") -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except (EmailNotValidError, AttributeError) as exc:
        raise Invalid(f"{value!r} doesn't look like an email address.", fields={field: "not a valid email address"}) from exc


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
        raise Invalid(f"{value!r} doesn't look like a phone number. Include the country code, e.g. +1 415 555 0100.",
                      fields={field: "not a valid phone number"})
    return digits


def required_text(value: str | None, field: str, *, max_len: int, label: str | None = None) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"Please give the {label or field}.", fields={field: "required"})
    if len(text) > max_len:
        raise Invalid(f"The {label or field} is too long ({max_len} characters at most).",
                      fields={field: f"at most {max_len} characters"})
    return text
