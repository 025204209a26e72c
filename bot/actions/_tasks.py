"""Which outcomes count as a completed task, and how an action says it completed one.

A completed task is a change or delivery the customer asked for that billing has carried out, with
nothing left waiting for them:

- ``order_placed``: a quote confirmed and ordered (licences, products: ``quotes.confirm_quote``);
- ``invoice_paid``: an open invoice paid with the card on file (``payments.pay``);
- ``invoice_sent``: an invoice emailed to someone (``sharing.ActionShareInvoice``);
- ``billing_details_updated``: the billing address or contact changed (``billing_details``);
- ``case_opened``: a support case opened (``support``; a note added to it is not a new task);
- ``callback_booked``: a callback by a person booked (``callbacks``).

Not tasks: answers that only read (prices, invoices shown, the balance, FAQ), refusals, and
handoffs when they are opened (the customer's problem is not solved yet: the gateway offers the
rating when the handoff is closed, ``handoff_closed``). A declined payment, a failed mail or a
refused change is no task either: the marker is given only on the success path.

The marker rides on the success message itself (``utter_message(text=..., **completed(...))``):
Rasa stores it in that message's ``custom`` data (so the bot's last message, which the
confirmation logic reads, keeps its text and buttons), and our tracker stores report it to the
gateway in a header (bot/rasa_server/turn_facts.py), which decides whether to offer a rating.
"""

from __future__ import annotations

from typing import Any

from bot.telemetry.tasks import TASK_DONE, TASKS  # the one list, read in both environments


def completed(task: str) -> dict[str, Any]:
    """``utter_message`` arguments that mark the message as the end of ``task``."""
    if task not in TASKS:
        raise ValueError(f"not a task: {task!r}")
    return {"json_message": {TASK_DONE: task}}
