"""Quantities in free text: "5", "five", "a dozen", "twenty-five", "a hundred and ten", "1,200".

Pure Python. `find_quantities(text, blocked)` returns the spans of numbers meant as a count,
skipping numbers that are part of something else: invoice numbers, emails, phone numbers, dates,
times, money amounts, ordinals, versions, and years (a 4-digit 1900-2099 number is a year unless a
unit such as "licenses" follows it). Callers pass the spans already taken (emails, invoice
numbers, periods) as `blocked`.
"""

from __future__ import annotations

import re
from typing import Optional

from bot.nlu.spans import Span, free

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
FIXED = {
    "dozen": 12,
    "a dozen": 12,
    "half a dozen": 6,
    "a couple": 2,
    "a couple of": 2,
    "couple": 2,
    "a pair": 2,
    "a pair of": 2,
}

# Words after a number that make it a count (used to accept "one" and 4-digit "years").
UNIT_WORDS = (
    r"(?:more|additional|extra|new|other|further|"
    r"licen[cs]es?|lisen[cs]es?|seats?|users?|people|employees|reps|agents|"
    r"blocks?|gb|tb|sandbox(?:es)?|copies|subscriptions?|accounts?)"
)
_NUMBER_WORD = "|".join(sorted(list(UNITS) + list(TENS) + list(SCALES), key=len, reverse=True))
# A spelled-out number: words joined by spaces, hyphens or "and" ("a hundred and ten").
_WORDS_RE = re.compile(
    rf"\b(?:(?:half\s+)?a\s+dozen|a\s+couple|a\s+pair(?=\s+of\b)|dozen|"
    rf"(?:an?\s+(?=(?:hundred|thousand)\b))?(?:{_NUMBER_WORD})(?:(?:\s+and\s+|[\s\-]+)(?:{_NUMBER_WORD}))*)\b",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"(?<![\w.,/:#$€£\-+])(\d{1,3}(?:,\d{3})+|\d+)(k\b)?(?![\w/:%$€£]|[.,]\d|-\d)", re.IGNORECASE)

_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# Things a number may be part of; their spans are blocked before looking for counts.
_NOT_COUNTS = [
    re.compile(r"\+?\(?\d{1,4}\)?(?:[ .\-]\(?\d{2,4}\)?){2,}\d*"),  # phone numbers
    re.compile(r"\b\d{1,4}[/.\-]\d{1,2}(?:[/.\-]\d{1,4})?\b"),  # dates 12/27, 2025-03
    re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)\b", re.I),  # times
    re.compile(r"\b\d{1,2}:\d{2}\b"),
    re.compile(r"\bat\s+\d{1,2}\b(?!\s*" + UNIT_WORDS + r")", re.I),  # "call me at 3"
    re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I),  # ordinals
    re.compile(rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b(?!\s*{UNIT_WORDS})", re.I),  # March 5
    re.compile(rf"\b\d{{1,2}}\s+(?:of\s+)?(?:{_MONTHS})\b", re.I),  # 5 March
    re.compile(
        r"[$€£]\s?\d[\d,.]*|\b\d[\d,.]*\s*(?:k\s*)?(?:\$|€|£|usd|eur|gbp|dollars?|euros?|"
        r"bucks|pounds|cents?|per\s*cent|percent|%)",
        re.I,
    ),  # money, percent
    re.compile(r"\b(?:v|version|windows|iphone|ios|android)\s*\d+(?:\.\d+)*\b", re.I),
    re.compile(
        r"\b\d+[a-z]?\s+(?:[A-Z][a-z]+\s+)+(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Way|Drive|Dr|"
        r"Boulevard|Blvd|Place|Pl|Square|Sq|Court|Ct|Parkway|Park)\b"
    ),  # addresses
    re.compile(r"\b[1-5]\d{2}\s+(?:errors?|status|code)\b", re.I),  # HTTP errors
    re.compile(r"\b(?:cvv2?|cvc2?|cv2|csc|security\s+code|pin)\s*:?\s*\d{3,4}\b", re.I),  # card codes
    re.compile(r"(?<![\d,])\d{7,}(?![\d,])"),  # long ids, phones
    re.compile(r"(?<!\d)\d{2,5}(?:[ \-]\d{2,5})+(?!\d)"),  # grouped phone digits
    # references: "case #12", "order number 5", "ticket 20014" (but "order 5 more licenses" is a count)
    re.compile(r"\b(?:case|ticket|order|quote|q|po|ref(?:erence)?)\s*(?:number|no\.?|#)\s*[-#]?\s*\d+\b", re.I),
    re.compile(r"\b(?:case|ticket|order|quote|q|po|ref(?:erence)?)\s*[-#]?\s*\d{4,}\b", re.I),
]


def parse_number(words: str) -> Optional[int]:
    """Value of a spelled-out or digit number: "twenty-five" -> 25, "a hundred and ten" -> 110,
    "1,200" -> 1200, "a dozen" -> 12, "10k" -> 10000. None if it is not a number."""
    s = re.sub(r"\s+", " ", words.strip().lower())
    if not s:
        return None
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", s):
        return int(s.replace(",", ""))
    m = re.fullmatch(r"(\d+)\s*k", s)
    if m:
        return int(m.group(1)) * 1000
    if s in FIXED:
        return FIXED[s]
    tokens = [t for t in re.split(r"[\s\-]+", s) if t and t != "and"]
    if tokens and tokens[0] in ("a", "an"):
        tokens[0] = "one"
    if not tokens:
        return None
    total, current, seen = 0, 0, False
    last_kind = None
    for t in tokens:
        if t in UNITS:
            if last_kind in ("unit",) or (last_kind == "ten" and UNITS[t] >= 10):
                return None  # "five six", "twenty twelve"
            current += UNITS[t]
            last_kind = "unit"
        elif t in TENS:
            if last_kind in ("unit", "ten"):
                return None
            current += TENS[t]
            last_kind = "ten"
        elif t in SCALES:
            scale = SCALES[t]
            if current == 0:
                current = 1
            if scale == 100:
                current *= 100
            else:
                total += current * scale
                current = 0
            last_kind = "scale"
        else:
            return None
        seen = True
    return total + current if seen else None


def _blocked_spans(text: str) -> list[Span]:
    spans = []
    for pattern in _NOT_COUNTS:
        for m in pattern.finditer(text):
            spans.append(Span(m.start(), m.end(), m.group()))
    return spans


def _followed_by_unit(text: str, end: int) -> bool:
    return re.match(rf"\s*(?:\w+\s+){{0,2}}?{UNIT_WORDS}\b", text[end:], re.I) is not None


def _is_year(value: int, text: str, end: int) -> bool:
    return 1900 <= value <= 2099 and not _followed_by_unit(text, end)


_DURATION_RE = re.compile(
    r"\s*(?:-\s*)?(?:hours?|hrs?|h|minutes?|mins?|days?|weeks?|months?|years?|yrs?|"
    r"am|pm|a\.m\.|p\.m\.|o'?clock|%|percent)\b",
    re.I,
)


def _is_duration(text: str, end: int) -> bool:
    """ "24 hours", "30 days", "9 am", "15%": a time or a rate, not a count of anything we sell."""
    return _DURATION_RE.match(text[end:]) is not None


# A big number written with or without separators: "5000000", "5,000,000", "5 000", "5 000 000".
_BIG_RE = re.compile(r"(?<![\w.,/:#$€£+\-])(\d{1,3}(?:[,\u00a0\u202f ]\d{3})+|\d{4,})(?![\w/:%$€£]|[.,]\d|-\d)")
# What makes a big number a count, not a phone number or an id: a unit after it ("5000000
# licenses"), or a request for an amount before it ("add 5 000", "make it 20000", "need 50,000").
_COUNT_BEFORE = re.compile(
    r"\b(?:add|buy|purchase|need|want|get|make\s+it|make\s+that|another|extra|"
    r"increase\s+(?:it\s+)?(?:to|by)|up\s+to|total\s+of)\s+(?:(?:just|only|about|around)\s+)?$",
    re.I,
)
# What makes it a phone number or a reference: "call me on", "phone", "order number", "#", "+".
_ID_BEFORE = re.compile(
    r"(?:\b(?:call|phone|tel|telephone|mobile|cell|fax|whatsapp|sms|text|reach|ring|dial|"
    r"number|no\.?|nr|id|ref(?:erence)?|case|ticket|order|quote|po|invoice|inv|account|acct)"
    r"\b[^\d]{0,12}|[#+(]\s*)$",
    re.I,
)


def _counts_by_context(text: str, taken: list[Span]) -> list[Span]:
    """Big numbers that are counts by what surrounds them, not by their length: phone numbers and
    ids are recognised by the words around them, so "add 5000000 licenses" keeps 5000000."""
    found = []
    for m in _BIG_RE.finditer(text):
        span = Span(m.start(), m.end(), 0)
        before, digits = text[: m.start()], re.sub(r"\D", "", m.group())
        if not free(span, taken) or re.search(r"[#+(]\s*$", before):
            continue
        value = int(digits)
        if _is_year(value, text, m.end()) or _is_duration(text, m.end()):
            continue
        if _followed_by_unit(text, m.end()):
            found.append(Span(m.start(), m.end(), value, "quantity"))
        elif _ID_BEFORE.search(before):
            continue
        elif _COUNT_BEFORE.search(before) or (
            # alone ("5,000,000", "20000"): a count; ten digits or a leading 0 is a phone number
            text.strip().rstrip(".!") == m.group() and len(digits) < 10 and not digits.startswith("0")
        ):
            found.append(Span(m.start(), m.end(), value, "quantity"))
    return found


def find_quantities(text: str, blocked: Optional[list[Span]] = None) -> list[Span]:
    """Spans (start, end, int value) of the counts in `text`, left to right."""
    found: list[Span] = _counts_by_context(text, list(blocked or []))
    taken = list(blocked or []) + [s for s in _blocked_spans(text) if free(s, found)] + found
    whole = text.strip().lower().rstrip(".!")
    for m in _DIGITS_RE.finditer(text):
        span = Span(m.start(), m.end(), 0)
        if not free(span, taken):
            continue
        value = parse_number(m.group())
        if value is None or _is_year(value, text, m.end()) or _is_duration(text, m.end()):
            continue
        found.append(Span(m.start(), m.end(), value, "quantity"))
    for m in _WORDS_RE.finditer(text):
        span = Span(m.start(), m.end(), 0)
        if not free(span, taken) or not free(span, found):
            continue
        phrase = m.group().lower()
        value = parse_number(phrase)
        if value is None or _is_duration(text, m.end()):
            continue
        if phrase == "one" and not _one_is_a_count(text, m.start(), m.end(), whole):
            continue
        found.append(Span(m.start(), m.end(), value, "quantity"))
    return _scaled(text, sorted(found, key=lambda s: s.start))


def _scaled(text: str, spans: list[Span]) -> list[Span]:
    """ "3 million", "2 thousand": digits and the scale word after them are one count."""
    merged: list[Span] = []
    for span in spans:
        previous = merged[-1] if merged else None
        word = text[span.start : span.end].lower()
        if (
            previous is not None
            and word in ("thousand", "million")
            and text[previous.start : previous.end].replace(",", "").isdigit()
            and not text[previous.end : span.start].strip()
        ):
            merged[-1] = Span(previous.start, span.end, int(previous.value) * SCALES[word], "quantity")
            continue
        merged.append(span)
    return merged


def _one_is_a_count(text: str, start: int, end: int, whole: str) -> bool:
    """ "one" is a count in "one more license", "add one", "make it one", or alone; not in "the
    enterprise one", "no one", "one of my invoices", "one question"."""
    before = text[:start].lower()
    if whole in ("one", "just one", "only one"):
        return True
    if re.search(
        r"\b(?:no|any|every|some|the|this|that|which|each|other|another|latest|last|"
        r"open|new|right|first|second)\s*$",
        before,
    ):
        return False
    if re.match(r"\s*(?:more|additional|extra)\b", text[end:], re.I):
        return True
    if re.match(rf"\s*(?:\w+\s+)?{UNIT_WORDS}\b", text[end:], re.I) and not re.match(r"\s*of\b", text[end:], re.I):
        return True
    if re.search(r"\b(?:add|buy|make it|get|order|need|want|purchase)\s*(?:just|only)?\s*$", before):
        return not re.match(r"\s*(?:of|question|thing|sec|second|minute)\b", text[end:], re.I)
    return False
