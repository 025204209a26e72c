"""The completed tasks the assistant reports (bot/actions/_tasks.py says which outcome is which) and
the key of the marker a task's success message carries. One list for the three places that read it,
in both environments: the actions that mark, Rasa's tracker stores that report it to the gateway
(bot/rasa_server/turn_facts.py), and the gateway's ratings (bot/gateway/ratings.py)."""

from __future__ import annotations

TASK_DONE = "task_done"  # the key of the marker in a message's custom data
TASKS = frozenset(
    {
        "order_placed",
        "invoice_paid",
        "invoice_sent",
        "billing_details_updated",
        "case_opened",
        "callback_booked",
    }
)
