"""Card numbers: find them and replace them with the token CARDNUMBER (pure Python, no Rasa).

A card number is 13-19 digits that passes the Luhn check, written in one piece or in groups. The
groups may be separated by spaces, dashes, dots or slashes, and by the invisible characters a
paste can carry (zero-width spaces, direction marks, soft hyphens), up to four of them; the
digits may be any script's (fullwidth "４２４２" too). Shorter digit strings (invoice numbers,
phone numbers, quantities, 12-digit references) and Luhn-invalid ones of 13-15 digits are left
alone.

Within a run of digit groups, whole groups that form a card are replaced ("4242 4242 4242 4242 12
27" keeps its "12 27"). Digits glued to a card ("54242 4242 4242 4242", "4242 4242 4242 42425",
twenty digits in one piece) hide it from that search, so what is left of a run after it, if it
holds 16 or more digits and any 13-19 of them in a row pass the Luhn check, is replaced whole:
a long digit string in a billing chat is more likely a mistyped card than anything a customer
needs kept. Used by the first NLU component and by the gateway channel, so a number never reaches
NLU, the tracker store or the logs.
"""
from __future__ import annotations

import re
import unicodedata

TOKEN = "CARDNUMBER"
MIN_DIGITS, MAX_DIGITS = 13, 19
GLUED_ABOVE = 15  # digits a run must exceed before a card glued inside it is looked for
LONG_RUN = 64  # a run of more digits than this is replaced whole, unchecked (keeps huge pastes cheap)

# What may stand between two digit groups: whitespace, dashes, dots, slashes, and invisible
# format characters (zero-width, bidi marks and isolates, word joiner, BOM, soft hyphen) and
# combining marks a paste or an attacker can slip in.
_SEP_CHARS = (r"\s\-.·/\u00ad\u2010-\u2015\u2212\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
              r"\ufeff\u180e\u0300-\u036f\ufe00-\ufe0f\u20d0-\u20ff")
# A run of digit groups (any script's decimal digits) separated by one to four such characters.
_RUN = re.compile(rf"(?<!\d)\d+(?:[{_SEP_CHARS}]{{1,4}}\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")


def _digits(text: str) -> str:
    """The decimal digits of `text` as ASCII ("４２" -> "42"), everything else dropped."""
    return "".join(str(unicodedata.decimal(ch)) for ch in text if unicodedata.decimal(ch, None) is not None)


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of ASCII digits."""
    if not digits.isascii() or not digits.isdigit():
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


def _holds_card(digits: str) -> bool:
    """Whether `digits`, at least as long as the usual 16-digit card, has MIN_DIGITS..MAX_DIGITS
    digits in a row that pass the Luhn check (an Amex with a digit typed twice does). 13-15 digits
    that fail the check are kept: that is a reference or a phone number, not a card."""
    n = len(digits)
    if n <= GLUED_ABOVE:
        return False
    return any(luhn_valid(digits[i:i + size]) for size in range(MIN_DIGITS, min(MAX_DIGITS, n) + 1)
               for i in range(n - size + 1))


def find_card_numbers(text: str) -> list[tuple[int, int]]:
    """(start, end) of every card number in `text`, left to right.

    Within a run of digit groups the longest left-most sequence of whole groups that is a card
    number wins, and the rest of the run is searched again; groups left over between (or around)
    those cards are replaced whole if their digits hide a card.
    """
    found: list[tuple[int, int]] = []

    def glued(spans: list[tuple[int, int, str]]) -> None:
        if spans and _holds_card("".join(d for _, _, d in spans)):
            found.append((spans[0][0], spans[-1][1]))

    for run in _RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start(), _digits(m.group()))
                  for m in _GROUP.finditer(run.group())]
        if sum(len(d) for _, _, d in groups) > LONG_RUN:  # no one types that many digits but a card
            found.append(run.span())
            continue
        i, left_over = 0, []
        while i < len(groups):
            best = None
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > MAX_DIGITS:
                    break
                if len(digits) >= MIN_DIGITS and luhn_valid(digits):
                    best = j
            if best is None:
                left_over.append(groups[i])
                i += 1
            else:
                glued(left_over)
                found.append((groups[i][0], groups[best][1]))
                left_over = []
                i = best + 1
        glued(left_over)
    return sorted(found)


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
