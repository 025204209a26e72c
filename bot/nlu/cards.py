"""Card numbers: find them and replace them with the token CARDNUMBER (pure Python, no Rasa).

The one redactor of the project: the first NLU component, Rasa's gateway channel, the gateway
(widget, Slack, the handoff bridge) and billing's services all call ``redact`` on what people
type, before it is stored, logged, echoed or understood. It must import in both environments
(Python 3.10 with Rasa, and the app's).

A card number is 13-19 digits that passes the Luhn check, written in one piece or in groups. What
stands between two groups is anything that is neither a letter nor a digit, up to MAX_GAP
characters of it: spaces of every kind, punctuation (``_`` and ``,`` included), symbols and emoji,
invisible format characters (zero-width, direction marks, soft hyphen), combining marks, controls.
A list of what separates would always miss the next character someone tries; letters are what
end a number in text, so only they (and long gaps) end a run of groups. The digits may be any
script's ("４２４２", "٤٢٤٢", "४२४२").

Within a run of groups, the card numbers are the whole-group sequences of 13-19 digits that pass
the Luhn check, chosen so that together they hide the most digits (two cards pasted side by side
are both found; "4242 4242 4242 4242 12 27" keeps its "12 27"). What is left of the run is replaced
too if a card hides in it with digits glued to it ("54242 4242 4242 4242", twenty digits in one
piece): when the run held a card, any 13 or more digits left with 13-19 of them in a row passing
the Luhn check; otherwise only 16 or more, so that 13-15 digit references and phone numbers are
kept unless they are themselves Luhn-valid. A long digit string in a billing chat is more likely a
mistyped card than anything a customer needs kept.

The price of accepting any separator: numbers that only punctuation or spaces keep apart read as
one run, so a list such as "1042, 1-800-667-6389, 5" (16 digits) passes the Luhn check about one
time in ten and is replaced. Words between numbers ("and", "ext") keep them apart.

Kept: fewer than 13 digits (invoice numbers, phone numbers, amounts, quantities, 12-digit
references), Luhn-invalid 13-15 digit numbers, and runs made only of calendar dates
("2025-01-01 - 2025-12-31", "01/01/2025, 31/12/2025": years 1900-2099, day and month either way
round, one separator within a date), which no one writes a card as.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

TOKEN = "CARDNUMBER"
REMOVED = "•••• (card number removed)"  # what a person is shown where a card number was
MIN_DIGITS, MAX_DIGITS = 13, 19
MAX_GAP = 8  # separator characters between two groups, at most (a tab expanded to spaces is 8)
GLUED_ABOVE = 15  # digits a run without a card must exceed before a card glued inside it is looked for
LONG_RUN = 64  # a run of more digits than this is replaced whole, unchecked (keeps huge pastes cheap)

# A run of digit groups (any script's decimal digits), separated by 1..MAX_GAP characters that are
# neither letters nor digits (``[\W_]``: ``\w`` is letters, digits and "_").
_RUN = re.compile(rf"\d+(?:[\W_]{{1,{MAX_GAP}}}\d+)*")
_GROUP = re.compile(r"\d+")
_GAP = re.compile(rf"[\W_]{{1,{MAX_GAP}}}")
_DAY, _MONTH, _YEAR = r"(?:0?[1-9]|[12][0-9]|3[01])", r"(?:0?[1-9]|1[0-2])", r"(?:19|20)[0-9]{2}"
_DATE = re.compile(rf"{_YEAR}([-/._]){_MONTH}\1{_DAY}(?![0-9])|{_DAY}([-/._]){_DAY}\2{_YEAR}(?![0-9])")


def _ascii(digits: str) -> str:
    """A digit group as ASCII ("４２" -> "42")."""
    return digits if digits.isascii() else "".join(str(unicodedata.decimal(ch)) for ch in digits)


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of ASCII digits."""
    if not digits.isascii() or not digits.isdigit():
        return False
    return _Luhn(digits).valid(0, len(digits))


class _Luhn:
    """Luhn sums of any slice of a digit string in constant time (prefix sums), so trying every
    13-19 digit window of a run costs little. ``even[k]``: the sum over positions p < k with the
    digits at even positions taken as they are and those at odd positions doubled (the weights of
    a slice whose last digit is at an even position); ``odd[k]`` the other way round."""

    __slots__ = ("even", "odd")

    def __init__(self, digits: str) -> None:
        even, odd = [0], [0]
        for p, ch in enumerate(digits):
            d = ord(ch) - 48
            doubled = d * 2 - 9 if d > 4 else d * 2
            even.append(even[-1] + (d if p % 2 == 0 else doubled))
            odd.append(odd[-1] + (doubled if p % 2 == 0 else d))
        self.even, self.odd = even, odd

    def valid(self, start: int, end: int) -> bool:
        sums = self.even if (end - 1) % 2 == 0 else self.odd
        return (sums[end] - sums[start]) % 10 == 0

    def any_window(self, start: int, end: int) -> bool:
        """Whether MIN_DIGITS..MAX_DIGITS digits in a row within [start, end) pass the check."""
        return any(
            self.valid(s, s + size)
            for size in range(MIN_DIGITS, min(MAX_DIGITS, end - start) + 1)
            for s in range(start, end - size + 1)
        )


def _only_dates(run: str) -> bool:
    """Whether the run is calendar dates and the gaps between them, nothing else."""
    at = 0
    while True:
        date = _DATE.match(run, at)
        if date is None:
            return False
        if date.end() == len(run):
            return True
        gap = _GAP.match(run, date.end())
        if gap is None:
            return False
        at = gap.end()


def _cards_in(groups: list[str]) -> Iterator[tuple[int, int]]:
    """(first, last) group index of each card in a run, and of each leftover stretch to replace."""
    offsets = [0]
    for group in groups:
        offsets.append(offsets[-1] + len(group))
    luhn = _Luhn("".join(groups))
    n = len(groups)
    # best[i]: the most digits cards can hide in groups i.. ; pick[i]: the last group of the card
    # that starts at group i in that choice (None: group i is not in a card). Ties go to a card
    # starting further left, then to a longer one.
    best: list[int] = [0] * (n + 1)
    pick: list[int | None] = [None] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i] = best[i + 1]
        for j in range(i, n):
            size = offsets[j + 1] - offsets[i]
            if size > MAX_DIGITS:
                break
            if size >= MIN_DIGITS and size + best[j + 1] >= best[i] and luhn.valid(offsets[i], offsets[j + 1]):
                best[i], pick[i] = size + best[j + 1], j
    cards: list[tuple[int, int]] = []
    i = 0
    while i < n:
        card_end = pick[i]
        if card_end is None:
            i += 1
            continue
        cards.append((i, card_end))
        i = card_end + 1
    glued_from = MIN_DIGITS if cards else GLUED_ABOVE + 1
    left = 0
    for first, last in [*cards, (n, n)]:
        if (
            first > left
            and offsets[first] - offsets[left] >= glued_from
            and luhn.any_window(offsets[left], offsets[first])
        ):
            yield left, first - 1
        if first < n:
            yield first, last
        left = last + 1


def find_card_numbers(text: str) -> list[tuple[int, int]]:
    """(start, end) of every card number in `text`, left to right."""
    found: list[tuple[int, int]] = []
    for run in _RUN.finditer(text):
        if run.end() - run.start() < MIN_DIGITS:
            continue
        matches = list(_GROUP.finditer(run.group()))
        groups = [_ascii(m.group()) for m in matches]
        total = sum(len(g) for g in groups)
        if total < MIN_DIGITS:
            continue
        if total > LONG_RUN:  # no one types that many digits but a card
            found.append(run.span())
            continue
        if _only_dates(run.group()):
            continue
        base = run.start()
        found += [(base + matches[first].start(), base + matches[last].end()) for first, last in _cards_in(groups)]
    return sorted(found)


def redact(text: str) -> tuple[str, int]:
    """Replace every card number in `text` with CARDNUMBER; return the new text and how many."""
    if not text or len(text) < MIN_DIGITS:
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


def redact_shown(text: str) -> tuple[str, int]:
    """``redact`` for text a person reads (an echo, a chat history, a Slack thread): each card
    number becomes REMOVED rather than the token."""
    redacted, count = redact(text)
    return (redacted.replace(TOKEN, REMOVED) if count else redacted), count


def redact_logs() -> None:
    """Make every log record this process writes go through ``redact``: its message and the text
    of its exception. Called once at each process's start (gateway, billing, Rasa, action server):
    a log line quoting what someone typed (an error repeating its input, a traceback) then holds no
    card, whichever library wrote it. Records are made only for enabled levels, so this costs one
    formatting per line written."""
    make = logging.getLogRecordFactory()
    if getattr(make, "redacts_cards", False):
        return
    logging.setLogRecordFactory(_RedactingRecords(make))


class _RedactingRecords:
    """A log record factory that redacts what the one it wraps makes."""

    redacts_cards = True  # installed already: redact_logs() does nothing the second time

    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        made = self.make(*args, **kwargs)
        try:
            message, count = redact(made.getMessage())
        except Exception:
            return made
        if count:
            made.msg, made.args = message, ()
        if made.exc_info and not made.exc_text:
            made.exc_text = redact(logging.Formatter().formatException(made.exc_info))[0]
        return made


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value (str, list, tuple, dict); returns a copy."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value
