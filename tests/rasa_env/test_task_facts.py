"""The completed task Rasa's channel reports to the gateway (bot/rasa_server/turn_facts.py): only
when the action marked it and nothing waits for the customer; the list of pending-confirmation
slots and of tasks kept equal to the actions' own."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.slots import AnySlot
from rasa.shared.core.trackers import DialogueStateTracker

import bot.actions  # noqa: F401  (registers every confirmation)
from bot.actions import confirm
from bot.rasa_server import turn_facts


def tracker(*events) -> DialogueStateTracker:
    slots = [AnySlot(name, mappings=[{"type": "custom"}]) for name in turn_facts.PENDING_SLOTS]
    return DialogueStateTracker.from_events("s", [UserUttered("yes", {"name": "affirm"}), *events], slots=slots)


ORDER = BotUttered("Done: ORD-1001", data={"custom": {"task_done": "order_placed"}})


def test_a_marked_message_with_nothing_waiting_is_a_completed_task():
    assert turn_facts.completed_task(tracker(ActionExecuted("action_confirm"), ORDER)) == "order_placed"


def test_no_task_while_a_form_or_a_confirmation_waits():
    assert turn_facts.completed_task(tracker(ORDER, ActiveLoop("share_invoice_form"))) is None
    assert turn_facts.completed_task(tracker(ORDER, SlotSet("pending_payment", "INV-1041"))) is None


def test_a_marker_of_an_earlier_turn_is_not_this_turns():
    earlier = tracker(ORDER, UserUttered("thanks", {"name": "thank"}), BotUttered("You're welcome"))
    assert turn_facts.completed_task(earlier) is None


def test_the_pending_slots_match_the_confirmations():
    # (the task names are one list, bot/telemetry/tasks.py, imported by the actions and here)
    assert set(turn_facts.PENDING_SLOTS) == set(confirm._confirmers)
