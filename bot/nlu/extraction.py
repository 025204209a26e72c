"""All rule-based entities of a message, as Rasa entity dicts (pure Python, no Rasa).

`extract_entities(text, today)` finds, in this order (earlier ones block overlapping later ones):
email (lower-cased), invoice_number ("INV-1042" from "inv-1042", "INV 1042", "invoice 1042",
"invoice #1042"), period (see periods.py), quantity (see numbers.py).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from bot.nlu.numbers import find_quantities
from bot.nlu.periods import find_periods
from bot.nlu.spans import Span, free

EMAIL_RE = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,}\b"
)
# "INV-1042", "inv 1042", "INV1042", "INV#1042" -> the whole thing is the entity
INVOICE_CODE_RE = re.compile(r"\binv(?:oice)?\s*[-#_]?\s*(\d{3,10})\b", re.I)
# "invoice 1042", "invoice number 1042", "invoice no. 1042", "invoice #1042" -> only the number
INVOICE_WORD_RE = re.compile(
    r"\b(?:invoices?|bill)\s*(?:number|num|no\.?|nr\.?|#|id)?\s*[:#]?\s*"
    r"#?(\d{3,10})\b",
    re.I,
)


def find_emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group().lower(), "email") for m in EMAIL_RE.finditer(text)]


def invoice_value(digits: str) -> str:
    return f"INV-{digits}"


def find_invoice_numbers(text: str, blocked: Optional[list[Span]] = None) -> list[Span]:
    taken = list(blocked or [])
    found: list[Span] = []
    for m in INVOICE_CODE_RE.finditer(text):
        if m.group().lower().startswith("invoice"):
            continue  # handled below: "invoice 1042" keeps the word out of the entity
        span = Span(m.start(), m.end(), invoice_value(m.group(1)), "invoice_number")
        if free(span, taken):
            found.append(span)
    for m in INVOICE_WORD_RE.finditer(text):
        if m.group().lower().startswith("invoices") and 1900 <= int(m.group(1)) <= 2099:
            continue  # "invoices 2025" is a year
        start = m.start(1)
        if text[start - 1 : start] == "#":
            start -= 1
        span = Span(start, m.end(1), invoice_value(m.group(1)), "invoice_number")
        if free(span, taken) and free(span, found):
            found.append(span)
    # "invoices 1041 and 1042", "INV-1041, 1042": more numbers of the same length in a list
    for span in list(found):
        digits = len(str(span.value)) - len("INV-")
        pos = span.end
        while True:
            more = re.match(
                rf"\s*(?:,|and|&|or|\+)\s*(?:inv(?:oice)?\s*[-#]?\s*)?#?(\d{{{digits}}})\b", text[pos:], re.I
            )
            if not more:
                break
            nxt = Span(pos + more.start(1), pos + more.end(1), invoice_value(more.group(1)), "invoice_number")
            if not (free(nxt, taken) and free(nxt, found)):
                break
            found.append(nxt)
            pos = nxt.end
    return sorted(found, key=lambda s: s.start)


def find_spans(text: str, today: Optional[dt.date] = None) -> list[Span]:
    """Every rule-based entity span in `text`, left to right."""
    emails = find_emails(text)
    invoices = find_invoice_numbers(text, emails)
    periods = find_periods(text, today, emails + invoices)
    quantities = find_quantities(text, emails + invoices + periods)
    return sorted(emails + invoices + periods + quantities, key=lambda s: s.start)


def extract_entities(text: str, today: Optional[dt.date] = None) -> list[dict[str, Any]]:
    """Rasa-style entity dicts: {"entity", "start", "end", "value"} (quantity's value is an int)."""
    return [{"entity": s.entity, "start": s.start, "end": s.end, "value": s.value} for s in find_spans(text, today)]
