"""Invoices: details ("send me last invoice", "what was on INV-1042?"), the list, the PDF link,
and sharing by email (a form that asks for the address).

Which invoice a message means: an invoice number in the message, else a period in it
("latest", "2026-03", "last_month"...), else (for "download it", "email it") the one in the
conversation's ``invoice_number`` slot, else the newest. The invoice shown is remembered in
``invoice_number`` so that "email it to ap@acme.example" refers to it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot.billing_client import ActingClient, Invoice, Link
from bot.nlu.invoice_words import (
    describe_period,
    normalise_number,
    one_by_status,
    period_filter,
    status_filter,
)

from ._base import BillingAction
from ._render import buttons, payload, render
from .confirm import reshow_pending

LIST_SHOWN = 6
LINES_SHOWN = 4
# -- which invoice ----------------------------------------------------------------------------------


def entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return value if isinstance(value, str) and value.strip() else None


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
