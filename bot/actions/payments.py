"""Paying invoices (ask -> "yes" -> pay, exactly once), what is owed, and the card on file.

Card numbers never pass through the bot: a card is replaced through the backend's short-lived
signed link, and a pasted number (redacted to CARDNUMBER before NLU) only gets that link and a
note that it was not kept.
"""

from __future__ import annotations

import hashlib

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.billing_client import ActingClient, Invoice, PaymentFailed
from bot.nlu.invoice_words import normalise_number, period_filter, status_filter

from . import _metrics
from ._base import BillingAction
from ._identity import Identity
from ._render import buttons, payload, render
from ._tasks import completed
from .confirm import on_confirm, reshow_pending, yes_no
from .invoices import entity, minutes_left


def payment_key(conversation: str, invoice: str) -> str:
    """One key per conversation and invoice (at most 64 characters): a retried or repeated "yes"
    returns the first payment instead of charging again."""
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
    return f"pay:{digest}:{invoice}"[:64]


def card_name(brand: str, last4: str) -> str:
    return f"{brand.title() if brand.lower() != 'mastercard' else 'Mastercard'} ending {last4}"


def pick_open(open_invoices: list[Invoice], context: str | None) -> Invoice:
    """Several open: the one in the conversation if it is open, else the oldest overdue one, else
    the one due first."""
    for invoice in open_invoices:
        if invoice.number == context:
            return invoice
    return min(open_invoices, key=lambda i: (not i.overdue, i.due_date, i.number))


def issued_in(invoice: Invoice, filters: dict[str, int]) -> bool:
    return all(getattr(invoice.issue_date, unit) == value for unit, value in filters.items())


def described(open_invoices: list[Invoice], text: str | None, period: str | None) -> list[Invoice] | None:
    """The open invoices the words describe ("the overdue one", "the March invoice", "the latest
    unpaid one"), or None when the message describes none (then "it" is the one in context)."""
    status = status_filter(text)
    filters = period_filter(period) if period else None
    if status != "overdue" and filters is None:
        return None
    found = [i for i in open_invoices if i.overdue] if status == "overdue" else list(open_invoices)
    if filters == {}:  # "the latest": the newest issued
        found = sorted(found, key=lambda i: (i.issue_date, i.number), reverse=True)[:1]
    elif filters:
        found = [i for i in found if issued_in(i, filters)]
    return found


class ActionPayInvoice(BillingAction):
    """Asks "Pay INV-1041, $695.34, with the Visa ending 4242?" and sets ``pending_payment``. Which
    invoice: the number said, else the open ones the words describe (overdue, a month, the
    latest), else the one in the conversation, else the oldest overdue or the one due first."""

    def name(self) -> str:
        return "action_pay_invoice"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        number = normalise_number(entity(tracker, "invoice_number"))
        open_invoices = await client.invoices(status="open", limit=50)
        if number:
            invoice = await client.invoice(number)
            if invoice.status != "open":
                dispatcher.utter_message(text=render("payments/not_open", invoice=invoice, others=open_invoices))
                return [SlotSet("invoice_number", invoice.number), SlotSet("pending_payment", None)]
        elif not open_invoices:
            dispatcher.utter_message(response="utter_nothing_to_pay")
            return [SlotSet("pending_payment", None)]
        else:
            period = entity(tracker, "period")
            meant = described(open_invoices, tracker.latest_message.get("text"), period)
            if meant == []:
                return await self.none_matches(dispatcher, client, period, open_invoices)
            invoice = pick_open(
                meant or open_invoices, None if meant else normalise_number(tracker.get_slot("invoice_number"))
            )
        card = await client.payment_method()
        if card is None:
            link = await client.payment_method_link()
            dispatcher.utter_message(text=render("payments/no_card", invoice=invoice, link=link))
            return [SlotSet("invoice_number", invoice.number), SlotSet("pending_payment", None)]
        others = [i for i in open_invoices if i.number != invoice.number]
        dispatcher.utter_message(
            text=render("payments/confirm", invoice=invoice, card=card_name(card.brand, card.last4), others=others),
            buttons=yes_no("payment", invoice.number)
            + buttons(
                *((f"Pay {i.number} instead", payload("pay_invoice", invoice_number=i.number)) for i in others[:3])
            ),
        )
        # What a "yes" does now: this payment (and not an earlier quote).
        return [
            SlotSet("invoice_number", invoice.number),
            SlotSet("pending_payment", invoice.number),
            SlotSet("pending_quote", None),
            SlotSet("period", None),
        ]

    @staticmethod
    async def none_matches(dispatcher, client, period: str | None, open_invoices: list[Invoice]) -> list[EventType]:
        """The words name no open invoice: the one they name is paid (say so), or none is overdue."""
        filters = period_filter(period) if period else None
        issued = await client.invoices(limit=1, **filters) if filters else []
        if issued:
            dispatcher.utter_message(text=render("payments/not_open", invoice=issued[0], others=open_invoices))
        else:
            dispatcher.utter_message(
                text=render("payments/none_matches", period=bool(filters), others=open_invoices),
                buttons=buttons(
                    *((f"Pay {i.number}", payload("pay_invoice", invoice_number=i.number)) for i in open_invoices[:3])
                ),
            )
        return [SlotSet("pending_payment", None), SlotSet("period", None)]


@on_confirm(
    "pending_payment",
    kind="payment",
    declined_response="utter_payment_cancelled",
    corrected_by="pay_invoice",
    corrections=("invoice_number", "period"),
)
async def pay(
    dispatcher: CollectingDispatcher, tracker: Tracker, who: Identity, client: ActingClient, number: str
) -> list[EventType]:
    try:
        payment = await client.pay_invoice(number, idempotency_key=payment_key(tracker.sender_id, number))
    except PaymentFailed as declined:
        _metrics.PAYMENTS.labels(who.channel, "declined").inc()
        link = await client.payment_method_link()
        dispatcher.utter_message(
            text=render("payments/declined", message=declined.message, link=link, minutes=minutes_left(link))
        )
        return []
    _metrics.PAYMENTS.labels(who.channel, "paid").inc()
    dispatcher.utter_message(text=render("payments/paid", payment=payment), **completed("invoice_paid"))
    return [SlotSet("invoice_number", payment.invoice)]


class ActionCheckBalance(BillingAction):
    """Open total, overdue total (which invoices), next due date; "Pay an open invoice" is the
    step a "yes" or "ok pay it" takes (bot/actions/offers.py)."""

    reads = "show what your organisation owes"

    def name(self) -> str:
        return "action_check_balance"

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        balance = await client.balance()
        overdue = [i for i in balance.open_invoices if i.overdue]
        upcoming = sorted((i for i in balance.open_invoices if not i.overdue), key=lambda i: i.due_date)
        dispatcher.utter_message(
            text=render("payments/balance", balance=balance, overdue=overdue, upcoming=upcoming),
            buttons=buttons(("Pay an open invoice", "/pay_invoice")) if balance.open_invoices else None,
        )
        reshow_pending(dispatcher, tracker)
        return []


class ActionPaymentMethodLink(BillingAction):
    """update_payment_method and give_card_number: the card on file and a secure link to replace
    it. A pasted card number was already replaced by CARDNUMBER; we say it was not kept."""

    def name(self) -> str:
        return "action_payment_method_link"

    async def run(self, dispatcher, tracker, domain):
        if (tracker.latest_message.get("intent") or {}).get("name") == "give_card_number":
            # Said first, whatever happens next (refusal, billing down).
            dispatcher.utter_message(response="utter_card_number_not_kept")
        return await super().run(dispatcher, tracker, domain)

    async def act(self, dispatcher, tracker, domain, who, client) -> list[EventType]:
        card = await client.payment_method()
        link = await client.payment_method_link()
        dispatcher.utter_message(
            text=render(
                "payments/card_link",
                card=card_name(card.brand, card.last4) if card else None,
                expires=f"{card.exp_month:02d}/{card.exp_year}" if card else None,
                link=link,
                minutes=minutes_left(link),
            )
        )
        if not tracker.active_loop_name:  # a form asks its own question next
            reshow_pending(dispatcher, tracker)
        return []
