"""Ratings in Slack, end to end: signed Slack requests into the real gateway (its own process, Slack
on, against the local Web API mock), the real Rasa server, action server and billing of the
session's stack, and the gateway's database where the rating is stored with the conversation."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, select

from bot.gateway.ratings import OFFER, ratings
from tests.conftest import reset
from tests.e2e.test_slack import SECRET, Slack, as_message, buttons, slack_gateway  # noqa: F401
from tests.slack_mock import Call

DM = "DUALEX"
SENDER = "slack:T0001:UALEX"
CARD = "4242 4242 4242 4242"


def stored(slack: Slack) -> list[dict[str, Any]]:
    """The gateway's rating rows (its SQLite database, named in the gateway's environment)."""
    engine = create_engine(slack.gateway.env["GATEWAY_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(ratings).order_by(ratings.c.offered_at))]
    finally:
        engine.dispose()


def tap(
    slack: Slack, user: str, offer: Call, action_id: str, value: str, action_ts: str, *, resent: bool = False
) -> int:
    """A tap on the offer's message as Slack sends it; ``resent``: Slack's redelivery of the same
    interaction (the same payload, signed again a second later)."""
    block = next(b for b in offer.args["blocks"] if b["type"] == "actions")
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user, "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy",
        "trigger_id": "trig.rating",
        "container": {"type": "message", "message_ts": offer.ts, "channel_id": DM},
        "channel": {"id": DM},
        "message": {"ts": offer.ts, "text": offer.args["text"], "blocks": offer.args["blocks"]},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block["block_id"],
                "value": value,
                "type": "button",
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": action_ts,
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = int(time.time()) + (1 if resent else 0)
    return slack.send.post(body, "application/x-www-form-urlencoded", timestamp=timestamp).status_code


def ephemeral(slack: Slack, user: str, n: int) -> str:
    return slack.api.wait_for("chat.postEphemeral", n, where=lambda c: c.args.get("user") == user)[-1].args["text"]


def user_texts(stack: Any, sender: str) -> list[str]:
    """What Rasa's tracker store recorded the user saying in the conversation."""
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [e.get("text") or "" for e in (json.loads(r[0]) for r in rows) if e["event"] == "user"]


def test_a_slack_admin_rates_an_order_in_the_dm_and_bad_taps_change_nothing(slack_gateway, billing_db, stack):
    slack = slack_gateway
    reset(billing_db)
    slack.api.reset()
    slack.send.event(slack.send.dm("UALEX", "add 5 licenses"))
    quote = slack.wait_posts(DM, 1)[0]
    slack.settle()
    assert not [c for c in slack.posts(DM) if c.args["text"] == OFFER]  # never while a yes/no is pending
    assert stored(slack) == []
    slack.send.click("UALEX", DM, as_message(quote), "Yes")
    offer = slack.api.wait_for("chat.postMessage", where=lambda c: c.args.get("text") == OFFER)[0]
    slack.settle()
    order = next(c for c in slack.posts(DM) if "ORD-" in c.args["text"])
    assert offer.args["channel"] == DM and offer.at > order.at and not offer.args.get("thread_ts")
    assert [b["text"]["text"] for b in buttons(offer)] == ["👍 Helpful", "👎 Not helpful"]
    [row] = stored(slack)
    assert (row["conversation"], row["channel"], row["task"], row["state"]) == (
        SENDER,
        "slack",
        "order_placed",
        "offered",
    )
    assert (row["customer"], row["team"]) == ("alex@acme.example", "T0001")
    offer_id = row["id"]

    # Sam taps Alex's offer (a shared channel): told privately, nothing changes.
    assert tap(slack, "USAM", offer, "rating_helpful", offer_id, "1700000001.000001") == 200
    assert "for <@UALEX>" in ephemeral(slack, "USAM", 1)
    # A forged offer id, and a value that was never offered: refused with a clear word.
    assert tap(slack, "UALEX", offer, "rating_helpful", "made-up-offer", "1700000002.000001") == 200
    assert "nothing was recorded" in ephemeral(slack, "UALEX", 1)
    assert tap(slack, "UALEX", offer, "rating_excellent", offer_id, "1700000003.000001") == 200
    assert "isn't one I know" in ephemeral(slack, "UALEX", 2)
    assert stored(slack)[0]["state"] == "offered" and not slack.api.called("chat.update", ts=offer.ts)

    # Not helpful: the offer is replaced by the question for a comment, with Skip.
    assert tap(slack, "UALEX", offer, "rating_not_helpful", offer_id, "1700000004.000001") == 200
    asked = slack.api.wait_for("chat.update", where=lambda c: c.args.get("ts") == offer.ts)[0]
    shown = json.dumps(asked.args["blocks"], ensure_ascii=False)
    assert "What went wrong?" in shown and "Not helpful" in shown
    assert [b["text"]["text"] for b in buttons(asked)] == ["Skip"]
    # Slack delivers the same interaction again, then Alex taps the old Helpful (a double tap).
    assert tap(slack, "UALEX", offer, "rating_not_helpful", offer_id, "1700000004.000001", resent=True) == 200
    assert tap(slack, "UALEX", offer, "rating_helpful", offer_id, "1700000005.000001") == 200
    assert "already rated" in ephemeral(slack, "UALEX", 3)
    slack.settle()
    assert len(slack.api.called("chat.update", ts=offer.ts)) == 1
    assert len(slack.api.called("chat.postEphemeral", user="UALEX")) == 3  # the redelivery said nothing
    assert stored(slack)[0]["state"] == "not_helpful"

    # The next message is the comment: stored without the card, answered by the gateway, not Rasa.
    before = len(slack.posts(DM))
    slack.send.event(slack.send.dm("UALEX", f"the proration was confusing, my card is {CARD}"))
    saved = slack.wait_posts(DM, before + 1)[-1]
    slack.settle()
    assert "passed that on" in saved.args["text"] and len(slack.posts(DM)) == before + 1
    [row] = stored(slack)
    assert "proration was confusing" in row["comment"] and "card number removed" in row["comment"]
    assert "4242" not in row["comment"]
    assert not [t for t in user_texts(stack, SENDER) if "proration" in t]

    # The conversation goes on with the assistant, and another task this session gets no offer.
    slack.send.event(slack.send.dm("UALEX", "send me last invoice"))
    slack.wait_posts(DM, before + 2)
    slack.send.event(slack.send.dm("UALEX", "email it to <mailto:ap@acme.example|ap@acme.example>"))
    slack.api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == DM and "ap@acme.example" in c.args["text"]
    )
    slack.settle()
    assert len([c for c in slack.posts(DM) if c.args["text"] == OFFER]) == 1
    assert len(stored(slack)) == 1
