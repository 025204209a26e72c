"""A small attack run against the confirmations and the internal doors (issue 17), counted.

A real stack (billing, action server, Rasa with this run's model, gateway channel). Three kinds of
attempt, each on a fresh conversation with a quote waiting, each ending with the billing database
counted:

- stale clicks: quote A, then quote B; A's Yes, then A's No, pressed while B waits;
- junk yes: a message with no letter or digit (punctuation, symbols, emoji, invisible format and
  space characters, one to four of them, drawn with a fixed seed) while the quote waits;
- forged calls: hand-written trackers to the action server without Rasa's secret (a quote, a
  confirmation, another organisation's invoices), and turns sent to Rasa's channel without the
  gateway's token.

Figures: attacks_<kind>_tried and attacks_<kind>_orders (orders placed by them, target 0), and
attacks_forged_calls_accepted (answers other than 401, target 0). Any order or accepted forged call
fails the benchmark.
"""

from __future__ import annotations

import random
import sys
import unicodedata

import httpx

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Order
from bot.launch.runner import Stack
from tests.billing.helpers import count
from tests.e2e.stack import Conversation

from . import BenchFailed, Figures, benchmark
from .rasa_env import our_model, tmp_dir

STALE_ROUNDS, JUNK_TRIES, SEED = 10, 60, 17
ACTIONS = [
    ("action_quote_licenses", "alex@acme.example", {"product": "dialer", "quantity": 7}, []),
    (
        "action_confirm",
        "alex@acme.example",
        {"pending_quote": "Q-5001"},
        [{"entity": "confirms", "value": "quote:Q-5001"}],
    ),
    ("action_list_invoices", "olivia@bluebird.example", {}, []),
    ("action_pay_invoice", "alex@acme.example", {}, []),
]
BAD_HEADERS = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic eDp4"},
    {"Authorization": "Bearer " + "0" * 64},
]


def wordless_pool() -> list[str]:
    """Characters with no letter or digit in them: punctuation, symbols, space-likes, format ones."""
    pool = [chr(c) for c in range(0x20, 0x3000) if unicodedata.category(chr(c))[0] in "PSZ"]
    pool += [chr(c) for c in range(0x80, 0xFFFF) if unicodedata.category(chr(c)) == "Cf"]
    pool += ["👍", "🙂", "✅", "👌", "👏", "\U000e0001", "\u200d", "\ufe0f"]
    return [c for c in pool if c.strip() or c in "\u3000\u00a0"]


def junk(rng: random.Random, pool: list[str]) -> str:
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 4)))


def tracker(action: str, email: str, slots: dict, entities: list) -> dict:
    user = {
        "event": "user",
        "text": "yes",
        "metadata": {"identity": {"email": email}, "channel": "slack"},
        "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}, "entities": entities},
    }
    return {
        "next_action": action,
        "sender_id": "bench-attacker",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "bench-attacker",
            "slots": slots,
            "latest_message": user["parse_data"],
            "events": [user],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def payload(conversation: Conversation, title: str) -> str:
    return next(b["payload"] for m in conversation.last for b in m.get("buttons") or [] if b["title"] == title)


@benchmark("attacks")
def run() -> Figures:
    model = our_model()
    rng, pool = random.Random(SEED), wordless_pool()
    with Stack(data_dir=tmp_dir("attacks-"), model=model) as stack:
        db = Database.connect(stack.env()["DATABASE_URL"])
        try:
            figures = _attack(stack, db, rng, pool)
        finally:
            db.dispose()
    bad = {k: v for k, v in figures.items() if (k.endswith("_orders") or k.endswith("_accepted")) and v}
    if bad:
        raise BenchFailed(f"attacks got through: {bad}", figures)
    return figures


def _attack(stack: Stack, db: Database, rng: random.Random, pool: list[str]) -> Figures:
    figures: Figures = {}
    before = count(db, Order)
    for i in range(STALE_ROUNDS):
        alex = Conversation(stack, "alex")
        alex.say(f"add {1 + i % 3} dialer licenses")
        old_yes, old_no = payload(alex, "Yes"), payload(alex, "No")
        alex.say(f"add {2 + i % 5} inbox licenses")
        alex.say(old_yes)
        alex.say(old_no)
        alex.client.close()
    figures["attacks_stale_clicks_tried"] = 2 * STALE_ROUNDS
    figures["attacks_stale_clicks_orders"] = count(db, Order) - before

    before, refused = count(db, Order), 0
    for _ in range(JUNK_TRIES):
        alex = Conversation(stack, "alex")
        alex.say("add 2 dialer licenses")
        answer = alex.client.post(
            stack.webhook_url, json={"sender": alex.sender, "message": junk(rng, pool), "metadata": alex.metadata}
        )
        refused += answer.status_code != 200
        alex.client.close()
    figures["attacks_junk_yes_tried"] = JUNK_TRIES
    figures["attacks_junk_yes_orders"] = count(db, Order) - before
    print(
        f"attacks: {refused} of {JUNK_TRIES} junk messages refused by the channel, the rest answered", file=sys.stderr
    )

    before, accepted, tried = count(db, Order), 0, 0
    env = stack.env()  # each door is also tried with the other door's real secret
    with httpx.Client(timeout=10, trust_env=False) as client:
        for headers in [*BAD_HEADERS, {"Authorization": f"Bearer {env['GATEWAY_TOKEN']}"}]:
            for action in ACTIONS:
                tried += 1
                accepted += (
                    client.post(f"{stack.actions_url}/webhook", json=tracker(*action), headers=headers).status_code
                    != 401
                )
        for headers in [*BAD_HEADERS, {"Authorization": f"Bearer {env['ACTION_SERVER_TOKEN']}"}]:
            tried += 1
            accepted += (
                client.post(
                    stack.webhook_url,
                    headers=headers,
                    json={
                        "sender": "bench-attacker",
                        "message": "yes",
                        "metadata": {"identity": {"email": "alex@acme.example"}},
                    },
                ).status_code
                != 401
            )
    figures["attacks_forged_calls_tried"] = tried
    figures["attacks_forged_calls_accepted"] = accepted
    figures["attacks_forged_calls_orders"] = count(db, Order) - before
    return figures
