"""Card numbers: find them and replace them with the token CARDNUMBER (pure Python, no Rasa).

A card number is 13-19 digits, optionally grouped by single spaces or dashes, that passes the Luhn
check. Shorter or longer digit strings (invoice numbers, phone numbers, quantities, 12-digit
references) and Luhn-invalid ones are left alone. Used by the first NLU component and by the
gateway channel, so a number never reaches NLU, the tracker store or the logs.
"""
from __future__ import annotations

import re

TOKEN = "CARDNUMBER"
MIN_DIGITS, MAX_DIGITS = 13, 19

# A run of digit groups separated by one space or dash (glued letters do not protect a number).
_RUN = re.compile(r"(?<!\d)\d+(?:[ \-]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of digits."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_card_number(candidate: str) -> bool:
    digits = re.sub(r"[ \-]", "", candidate)
    return MIN_DIGITS <= len(digits) <= MAX_DIGITS and luhn_valid(digits)


def find_card_numbers(text: str) -> list[tuple[int, int]]:
    """(start, end) of every card number in `text`, left to right.

    Within a run of digit groups ("4242 4242 4242 4242 12 27") the longest left-most sequence of
    whole groups that is a card number wins; the rest of the run is searched again.
    """
    found: list[tuple[int, int]] = []
    for run in _RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())]
        i = 0
        while i < len(groups):
            best = None
            n_digits = 0
            for j in range(i, len(groups)):
                n_digits += groups[j][1] - groups[j][0]
                if n_digits > MAX_DIGITS:
                    break
                if n_digits >= MIN_DIGITS and is_card_number(text[groups[i][0]:groups[j][1]]):
                    best = j
            if best is None:
                i += 1
            else:
                found.append((groups[i][0], groups[best][1]))
                i = best + 1
    return found


def redact(text: str) -> tuple[str, int]:
    """Replace every card number in `text` with CARDNUMBER; return the new text and how many."""
    if not text:
        return text, 0
    spans = find_card_numbers(text)
    if not spans:
        return text, 0
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(TOKEN)
        last = end
    out.append(text[last:])
    return "".join(out), len(spans)


def redact_value(value):
    """Redact every string inside a JSON-like value (str, list, tuple, dict); returns a copy."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value
