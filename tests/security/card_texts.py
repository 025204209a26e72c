"""Card numbers as people (and attackers) write them, and the check that none survives.

Shared by the property test (tests/security/test_redaction.py, Hypothesis draws from these) and
the redaction benchmark (tests/bench/redaction.py, a seeded ``random.Random`` does), so both try
the same space:

- ``BRANDS``: real issuer prefixes and lengths (13-19 digits); ``luhn_complete`` adds the check digit;
- ``separator_chars()``: every character of the classes people (or a paste, or an attacker) put
  between digit groups: punctuation (P*, ``_`` and ``,`` included), symbols (S*), space-like
  characters (Z* and the other whitespace), format characters (Cf), combining marks (M*), and the
  rest of what is neither letter nor digit (controls, private use);
- ``digit_zeros()``: the zero of every script's decimal digits (ASCII, fullwidth, Arabic-Indic,
  Devanagari, ... mathematical bold);
- ``survivors(text)``: the 13-19 digit Luhn-valid sequences left in ``text`` once every character
  that is neither a letter nor a digit is dropped and digits are read as ASCII. The oracle is
  deliberately blunter than the redactor (it joins digits across any amount of punctuation), so
  texts built here keep other digits away from the cards.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache

MAX_GAP = 8  # separator characters between two groups, at most (a tab expanded to spaces)


@dataclass(frozen=True)
class Brand:
    name: str
    prefixes: tuple[tuple[int, int], ...]  # inclusive ranges of equal digit count
    lengths: tuple[int, ...]

    def prefix(self, pick: int) -> str:
        """The ``pick``-th prefix of this brand (wrapping around)."""
        sizes = [hi - lo + 1 for lo, hi in self.prefixes]
        pick %= sum(sizes)
        for (lo, _), size in zip(self.prefixes, sizes, strict=True):
            if pick < size:
                return str(lo + pick)
            pick -= size
        raise AssertionError("unreachable")


BRANDS = (
    Brand("visa", ((4, 4),), (13, 16, 19)),
    Brand("mastercard", ((51, 55), (2221, 2720)), (16,)),
    Brand("amex", ((34, 34), (37, 37)), (15,)),
    Brand("discover", ((6011, 6011), (644, 649), (65, 65)), (16, 17, 18, 19)),
    Brand("jcb", ((3528, 3589),), (16, 17, 18, 19)),
    Brand("diners", ((300, 305), (36, 36), (38, 39)), (14, 15, 16, 17, 18, 19)),
    Brand("unionpay", ((62, 62),), (16, 17, 18, 19)),
    Brand(
        "maestro",
        ((5018, 5018), (5020, 5020), (5038, 5038), (5893, 5893), (6304, 6304), (6759, 6759), (6761, 6763)),
        (13, 14, 15, 16, 17, 18, 19),
    ),
    Brand("mir", ((2200, 2204),), (16, 17, 18, 19)),
    Brand("rupay", ((60, 60), (81, 82), (508, 508)), (16,)),
    Brand("troy", ((9792, 9792),), (16,)),
    Brand("uatp", ((1, 1),), (15,)),
    Brand("verve", ((506099, 506198), (650002, 650027)), (16, 18, 19)),
)

# Short texts around a card in a billing chat. None ends or starts with a digit next to the card,
# so the oracle cannot join their numbers to what is left of one.
BEFORE = (
    "",
    "my card is",
    "here is my new card:",
    "pay INV-1042 with",
    "card",
    "Visa",
    "use",
    "please charge",
    "it's",
    "número de tarjeta",
    "بطاقتي",
    "カード番号は",
    "new card ->",
    "cc#",
    "add 5 licenses and charge",
    "exp 12/27 card",
)
AFTER = (
    "",
    "thanks",
    "exp 12/29",
    "12/27",
    "exp 01/30 cvc 123",
    "cvv 737",
    "for INV-1042",
    "!",
    "?",
    "please",
    "ok?",
    "شكرا",
    "ありがとう",
    "and add 5 licenses",
)


def luhn_complete(body: str) -> str:
    """``body`` plus the check digit that makes it pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    return len(digits) > 1 and luhn_complete(digits[:-1]) == digits


@cache
def separator_chars() -> dict[str, tuple[str, ...]]:
    """Every assigned character that is neither a letter nor a number, by class."""
    classes: dict[str, list[str]] = {
        "punctuation": [],
        "symbol": [],
        "space": [],
        "format": [],
        "mark": [],
        "other": [],
    }
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or cat in ("Cs", "Cn"):
            continue
        if cat[0] == "Z" or ch.isspace():
            classes["space"].append(ch)
        elif cat[0] == "P":
            classes["punctuation"].append(ch)
        elif cat[0] == "S":
            classes["symbol"].append(ch)
        elif cat == "Cf":
            classes["format"].append(ch)
        elif cat[0] == "M":
            classes["mark"].append(ch)
        else:  # Cc (not whitespace), Co
            classes["other"].append(ch)
    return {name: tuple(chars) for name, chars in classes.items()}


# What a person types between groups most often; drawn more often than the million others.
COMMON_SEPARATORS = (
    " ",
    "-",
    "_",
    ",",
    ".",
    "/",
    "\t",
    "\n",
    "\u00a0",
    "\u2009",
    "\u3000",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u2013",
    "\u2014",
    "\u2212",
    "·",
    "•",
    "*",
    "+",
    "|",
    ":",
    ";",
    "~",
    "'",
    '"',
    "#",
    "=",
    "\u0301",
    "\u20e3",
    "\ufe0f",
    "\u202e",
    "\u2066",
)


@cache
def digit_zeros() -> tuple[int, ...]:
    """The code point of 0 in every script whose ten decimal digits are consecutive."""
    return tuple(
        code
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Nd"
        and unicodedata.decimal(chr(code)) == 0
        and all(unicodedata.decimal(chr(code + i), None) == i for i in range(10))
    )


def in_script(digits: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in digits)


_ASCII_RUN = re.compile(r"[0-9]{13,}")


def survivors(text: str) -> list[str]:
    """The Luhn-valid 13-19 digit sequences in ``text`` read the blunt way: characters that are
    neither letters nor digits dropped, digits of any script read as ASCII."""
    projected = []
    for ch in text:
        value = unicodedata.decimal(ch, None)
        if value is not None:
            projected.append(str(value))
        elif ch.isalnum():
            projected.append("a")
    found = []
    for run in _ASCII_RUN.findall("".join(projected)):
        found += [
            run[i : i + n]
            for n in range(13, min(19, len(run)) + 1)
            for i in range(len(run) - n + 1)
            if luhn_valid(run[i : i + n])
        ]
    return found


# -- a seeded generator (the benchmark's; the property test builds the same with Hypothesis) ------------


def random_card(rng: random.Random) -> str:
    brand = rng.choice(BRANDS)
    prefix = brand.prefix(rng.randrange(10**6))
    length = rng.choice(brand.lengths)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def random_grouping(rng: random.Random, digits: str) -> list[str]:
    if rng.random() < 0.3:  # the usual 4-4-4-4 (Amex 4-6-5)
        cuts = [4, 10] if len(digits) == 15 else list(range(4, len(digits), 4))
    else:  # anywhere
        cuts = sorted(rng.sample(range(1, len(digits)), rng.randrange(len(digits))))
    return [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]


def random_separator(rng: random.Random, classes: dict[str, tuple[str, ...]]) -> str:
    size = rng.choice((1, 1, 1, 2, 2, 3, rng.randint(1, MAX_GAP)))

    def one() -> str:
        if rng.random() < 0.5:
            return rng.choice(COMMON_SEPARATORS)
        return rng.choice(classes[rng.choice(tuple(classes))])

    return one() * size if rng.random() < 0.5 else "".join(one() for _ in range(size))


def random_text(rng: random.Random) -> tuple[str, list[str]]:
    """A message holding one to three cards; returns it and the cards (ASCII digits)."""
    classes, zeros = separator_chars(), digit_zeros()
    cards, parts = [], [rng.choice(BEFORE)]
    for n in range(rng.choice((1, 1, 1, 2, 3))):
        card = random_card(rng)
        cards.append(card)
        groups = random_grouping(rng, card)
        mixed = rng.random() < 0.1
        zero = 0x30 if rng.random() < 0.5 else rng.choice(zeros)
        written = [in_script(g, rng.choice(zeros) if mixed else zero) for g in groups]
        same = random_separator(rng, classes) if rng.random() < 0.6 else None
        joined = written[0]
        for group in written[1:]:
            joined += (same or random_separator(rng, classes)) + group
        if n:
            parts.append(rng.choice((" and ", ", ", " ", random_separator(rng, classes))))
        parts.append(joined)
    parts.append(rng.choice(AFTER))
    glue = rng.choice((" ", "", random_separator(rng, classes)))
    return glue.join([parts[0], "".join(parts[1:-1]), parts[-1]]), cards
