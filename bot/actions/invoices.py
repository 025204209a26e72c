"""Invoices: details ("send me last invoice", "what was on INV-1042?"), the list, the PDF link,
and sharing by email (a form that asks for the address).

Which invoice a message means: an invoice number in the message, else a period in it
("latest", "2026-03", "last_month"...), else (for "download it", "email it") the one in the
conversation's ``invoice_number`` slot, else the newest. The invoice shown is remembered in
``invoice_number`` so that "email it to ap@acme.example" refers to it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot.billing_client import ActingClient, Invoice, Link

from ._base import BillingAction
from ._render import buttons, payload, render
from .confirm import reshow_pending

LIST_SHOWN = 6
LINES_SHOWN = 4
INVOICE_NUMBER = re.compile(r"^INV-\d{1,10}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
)
EMAIL_IN_TEXT = re.compile(r"[^\s<>,;:\"']+@[^\s<>,;:\"']+")
STATUS_WORDS = (  # list_invoices "open", "unpaid"... -> the backend's status filter
    (re.compile(r"\boverdue|\blate\b|past due", re.I), "overdue"),
    (re.compile(r"\b(open|unpaid|outstanding|not paid|due)\b", re.I), "open"),
    (re.compile(r"\b(paid|settled)\b", re.I), "paid"),
)

PERIOD_WORDS = {  # raw words, in case the NLU did not normalise them (bot/nlu/periods.py does)
    "last": "latest",
    "latest": "latest",
    "most recent": "latest",
    "newest": "latest",
    "recent": "latest",
    "current": "latest",
    "ytd": "this_year",
    "this year": "this_year",
    "last year": "last_year",
    "this month": "this_month",
    "last month": "last_month",
}
MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}

# -- which invoice ----------------------------------------------------------------------------------


def normalise_number(value: Any) -> str | None:
    """'inv 1042', 'INV-1042', '1042' -> 'INV-1042'; anything else -> None."""
    if not isinstance(value, str):
        return None
    digits = re.fullmatch(r"\s*(?:inv(?:oice)?)?[\s#:-]*(\d{1,10})\s*", value, re.I)
    return f"INV-{digits.group(1)}" if digits else None


def period_filter(period: str | None, today: date | None = None) -> dict[str, int] | None:
    """A period entity value -> the backend's year/month filter; {} for 'latest'; None if unknown."""
    if not period:
        return None
    today = today or date.today()
    value = period.strip().lower()
    value = PERIOD_WORDS.get(value, value)
    month = MONTHS.get(value[:3]) if value.isalpha() and len(value) >= 3 else None
    if month:  # a bare month name: the most recent one
        return {"year": today.year if month <= today.month else today.year - 1, "month": month}
    if value == "latest":
        return {}
    if value == "this_month":
        return {"year": today.year, "month": today.month}
    if value == "last_month":
        return (
            {"year": today.year - 1, "month": 12}
            if today.month == 1
            else {"year": today.year, "month": today.month - 1}
        )
    if value == "this_year":
        return {"year": today.year}
    if value == "last_year":
        return {"year": today.year - 1}
    found = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", value)
    if found:
        year, month_text = int(found.group(1)), found.group(2)
        if month_text is None:
            return {"year": year}
        if 1 <= int(month_text) <= 12:
            return {"year": year, "month": int(month_text)}
    return None


def describe_period(period: str | None, today: date | None = None) -> str:
    """For 'no invoice in March 2026'."""
    filters = period_filter(period, today)
    if not filters:
        return "that period"
    if "month" in filters:
        return f"{date(filters['year'], filters['month'], 1):%B %Y}"
    return str(filters["year"])


def entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return value if isinstance(value, str) and value.strip() else None


# One invoice by its state ("the overdue invoice", "the unpaid one"); "open" only as an adjective,
# since "open the last invoice" asks for the latest.
ONE_BY_STATUS = (
    (re.compile(r"\boverdue|\blate\b|past due", re.I), "overdue"),
    (re.compile(r"\b(unpaid|outstanding|not paid)\b|\bopen (invoice|bill|one)\b", re.I), "open"),
)


def one_by_status(text: str | None) -> str | None:
    return next((status for pattern, status in ONE_BY_STATUS if text and pattern.search(text)), None)


def status_filter(text: str | None) -> str | None:
    for pattern, status in STATUS_WORDS:
        if text and pattern.search(text):
            return status
    return None


class NoSuchInvoice(Exception):
    """Nothing matches what the user asked for; ``message`` says so."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def find_invoice(client: ActingClient, tracker: Tracker, *, use_context: bool) -> Invoice:
    """The invoice the latest message means (see the module docstring)."""
    number = normalise_number(entity(tracker, "invoice_number"))
    if number:
        return await client.invoice(number)
    period = entity(tracker, "period")
    status = one_by_status(tracker.latest_message.get("text"))
    if status and (not period or period == "latest"):
        by_status = await client.invoices(limit=1, status=status)
        if not by_status:
            raise NoSuchInvoice(f'You have no {status} invoices. Say "show my invoices" to see them all.')
        return by_status[0]
    if period:
        filters = period_filter(period)
        if filters is None:
            raise NoSuchInvoice(
                'I didn\'t catch which period you mean. Try "the latest invoice", '
                '"the March invoice" or an invoice number like INV-1042.'
            )
        found = await client.invoices(limit=1, year=filters.get("year"), month=filters.get("month"))
        if not found:
            raise NoSuchInvoice(
                f'I found no invoice issued in {describe_period(period)}. Say "show my invoices" to see them all.'
            )
        return found[0]
    if use_context:
        number = normalise_number(tracker.get_slot("invoice_number"))
        if number:
            return await client.invoice(number)
    found = await client.invoices(limit=1)
    if not found:
        raise NoSuchInvoice("You don't have any invoices yet.")
    return found[0]


def minutes_left(link: Link, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    return max(1, round((link.expires_at - now).total_seconds() / 60))


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice": invoice,
        "lines": invoice.lines[:LINES_SHOWN],
        "more_lines": max(0, len(invoice.lines) - LINES_SHOWN),
    }


# -- actions ----------------------------------------------------------------------------------------


class ActionGetInvoice(BillingAction):
    """An invoice's number, dates, amount, status, lines and a download link."""

    reads = "show your invoices"

    def name(self) -> str:
        return "action_get_invoice"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        try:
            invoice = await find_invoice(client, tracker, use_context=False)
        except NoSuchInvoice as missing:
            dispatcher.utter_message(text=missing.message)
            return [SlotSet("period", None)]
        link = await client.download_link(invoice.number)
        dispatcher.utter_message(
            text=render("invoices/invoice", link=link, minutes=minutes_left(link), **invoice_context(invoice)),
            buttons=invoice_buttons(invoice),
        )
        reshow_pending(dispatcher, tracker)
        return [SlotSet("invoice_number", invoice.number), SlotSet("period", None)]


def invoice_buttons(invoice: Invoice) -> list[dict[str, str]]:
    if invoice.status == "open":
        return buttons((f"Pay {invoice.number}", payload("pay_invoice", invoice_number=invoice.number)))
    return []


class ActionListInvoices(BillingAction):
    """Newest first, at most LIST_SHOWN, optionally for a period and/or a status."""

    reads = "show your invoices"

    def name(self) -> str:
        return "action_list_invoices"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        period = entity(tracker, "period")
        filters = period_filter(period) or {}
        status = status_filter(tracker.latest_message.get("text"))
        found = await client.invoices(status=status, limit=50, **filters)
        dispatcher.utter_message(
            text=render(
                "invoices/list",
                invoices=found[:LIST_SHOWN],
                more=max(0, len(found) - LIST_SHOWN),
                status=status,
                period=describe_period(period) if filters else None,
            )
        )
        reshow_pending(dispatcher, tracker)
        return [SlotSet("period", None)]


class ActionDownloadInvoice(BillingAction):
    """The signed PDF link for the invoice meant (or in context, or the newest)."""

    reads = "download invoices"

    def name(self) -> str:
        return "action_download_invoice"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        try:
            invoice = await find_invoice(client, tracker, use_context=True)
        except NoSuchInvoice as missing:
            dispatcher.utter_message(text=missing.message)
            return [SlotSet("period", None)]
        link = await client.download_link(invoice.number)
        dispatcher.utter_message(
            text=render("invoices/download", invoice=invoice, link=link, minutes=minutes_left(link))
        )
        reshow_pending(dispatcher, tracker)
        return [SlotSet("invoice_number", invoice.number), SlotSet("period", None)]
