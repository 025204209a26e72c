"""The console's queries (bot/console/data/queries.py) over an index the indexer built from real
conversations, on SQLite and PostgreSQL, with organisations and order totals from billing's real API
through the console's token: the overview's figures and days, every search filter with its total and
paging, transcripts, and the CSV exports."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from bot.console.data.api import Filters, Money, Period
from bot.console.data.index import Indexer
from bot.console.data.queries import Queries
from bot.console.data.tables import messages
from tests.conftest import SERVICE_TOKEN
from tests.console.data.talk import START, Stores, Talk

DAY1, DAY2 = START.date(), START.date() + timedelta(days=1)
GUESSES = [("Pay an invoice", "/pay_invoice"), ("Check what you owe", "/check_balance")]


def place_order(server_url: str) -> str:
    """An order placed the way the action server places one (its token, for Alex of Acme)."""
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-User": "alex@acme.example", "X-Channel": "widget"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=10) as c:
        quote = c.post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"}).json()
        order = c.post(
            "/v1/orders", json={"quote": quote["number"]}, headers={"Idempotency-Key": quote["idempotency_key"]}
        )
        assert order.status_code == 201, order.text
        return order.json()["number"]


@pytest.fixture
def q(st: Stores, billing, console_billing_server) -> Queries:
    number = place_order(console_billing_server.url)
    # Day 1: Alex (Acme) orders on the widget; a visitor asks the weather; Olivia (Bluebird) on Slack
    # falls back and gets a person, who answers.
    alex = Talk(st, "wu-alex")
    alex.turn(
        "add 5 licenses",
        "add_licenses",
        "Quote Q-5001... Shall I place the order?",
        buttons=[("Yes", "/affirm"), ("No", "/deny")],
    )
    alex.turn("/affirm", "affirm", f"Done: order {number} is placed.", task="order_placed").rating("helpful")
    Talk(st, "wv-visitor", email=None).turn(
        "what's the weather", "out_of_scope", "That's outside what I can do.", action="action_out_of_scope"
    )
    olivia = Talk(st, "slack:T1:U1", channel="slack", email="olivia@bluebird.example")
    olivia.turn(
        "the thing with money",
        "nlu_fallback",
        "Did you mean ...?",
        action="action_fallback",
        confidence=0.2,
        buttons=GUESSES,
    )
    olivia.turn("talk to a person", "talk_to_human", "I've asked our support team.").handoff("HO-3001", status="closed")
    olivia.bot("Hi Olivia, Dana here.", rep="U9", rep_name="Dana", handoff="HO-3001")
    # Day 2: Alex again, an invoice emailed (in scope, contained).
    again = Talk(st, "wu-alex2", at=START + timedelta(days=1))
    again.turn(
        "email my last invoice to ap@acme.example",
        "share_invoice",
        "Sent INV-1047 to ap@acme.example.",
        task="invoice_sent",
    )
    Indexer(st.console, st.tracker, st.gateway, billing).run_all()
    return Queries(st.console)


def test_the_overview_counts_the_period_with_in_scope_denominators_and_per_day_series(q):
    o = q.overview(Period(DAY1, DAY2))
    assert (o.conversations, o.in_scope, o.contained) == (4, 3, 2)  # the weather is not in scope
    assert (o.handoffs, o.handoffs_answered, o.handoffs_closed) == (1, 1, 1)
    assert (o.turns, o.fallback_turns, o.helpful, o.not_helpful, o.orders) == (6, 1, 1, 0, 1)
    [revenue] = o.revenue
    assert revenue.currency == "USD" and revenue.minor > 0  # billing's invoice for the order, minor units
    assert o.by_channel == {"slack": 1, "widget": 3}
    assert [
        (d.day, d.conversations, d.in_scope, d.contained, d.handoffs, d.fallbacks, d.helpful, d.orders) for d in o.days
    ] == [
        (DAY1, 3, 2, 1, 1, 1, 1, 1),
        (DAY2, 1, 1, 1, 0, 0, 0, 0),
    ]
    assert "in scope" in o.definitions["containment"].lower() and o.definitions["in_scope"]
    slack = q.overview(Period(DAY1, DAY1), "slack")
    assert (slack.conversations, slack.in_scope, slack.contained, slack.handoffs, slack.orders) == (1, 1, 0, 1, 0)
    assert q.overview(Period(DAY2 + timedelta(days=5), DAY2 + timedelta(days=6))).conversations == 0
    with pytest.raises(ValueError, match="ends before it starts"):
        q.overview(Period(DAY2, DAY1))


def senders(q: Queries, **filters) -> list[str]:
    return sorted(r.sender for r in q.search(Filters(**filters)).rows)


def test_every_search_filter_and_paging(q):
    assert senders(q, period=Period(DAY2, DAY2)) == ["wu-alex2"]
    assert senders(q, channel="slack") == ["slack:T1:U1"]
    assert senders(q, org="acme") == ["wu-alex", "wu-alex2"]  # a part of the name, any case
    assert senders(q, org=q.search(Filters(customer="olivia")).rows[0].org) == ["slack:T1:U1"]  # the id
    assert senders(q, customer="ALEX@") == ["wu-alex", "wu-alex2"]
    assert senders(q, intent="talk_to_human") == ["slack:T1:U1"]
    assert senders(q, intent="add_licenses", period=Period(DAY2, DAY2)) == []
    assert senders(q, outcome="handoff") == ["slack:T1:U1"]
    assert senders(q, outcome="abandoned") == ["wv-visitor"]
    assert senders(q, rating="helpful") == ["wu-alex"]
    assert senders(q, org="acme", outcome="completed", channel="widget") == ["wu-alex", "wu-alex2"]
    first, second = q.search(Filters(), 0, 3), q.search(Filters(), 3, 3)
    assert first.total == second.total == 4 and len(first.rows) == 3 and len(second.rows) == 1
    assert first.rows[0].sender == "wu-alex2"  # newest first
    alex = q.search(Filters(customer="alex@acme.example", rating="helpful")).rows[0]
    assert (alex.org_name, alex.tasks, alex.outcome, alex.turns) == ("Acme Corp", ["order_placed"], "completed", 2)
    assert isinstance(alex.revenue, Money) and alex.revenue.minor > 0
    with pytest.raises(ValueError, match="limit"):
        q.search(Filters(), limit=0)


def test_a_transcript_has_the_customer_the_bot_the_rep_and_the_system(q):
    t = q.transcript("slack:T1:U1")
    assert t is not None and t.conversation.customer == "olivia@bluebird.example"
    said = [(line.author, line.text) for line in t.lines]
    assert said[0] == ("customer", "the thing with money") and t.lines[0].intent == "nlu_fallback"
    assert t.lines[1].buttons == ["Pay an invoice", "Check what you owe"]
    assert ("system", "Handoff HO-3001 to support opened") in said
    assert ("system", "Handoff HO-3001 claimed by Dana") in said and ("system", "Handoff HO-3001 closed") in said
    assert ("agent", "Hi Olivia, Dana here.") in said
    alex = q.transcript("wu-alex")
    assert [(line.author, line.text) for line in alex.lines][2] == ("customer", "Yes")  # the button pressed
    assert alex.lines[-1].author == "system" and "rated helpful" in alex.lines[-1].text
    assert q.transcript("wv-nobody") is None


def test_csv_exports_of_each_table_follow_the_filters(q, st):
    assert set(q.tables()) >= {"conversations", "messages", "ratings", "handoffs", "orders", "labels"}
    rows = list(q.export("conversations", Filters(channel="widget")))
    assert sorted(r["sender"] for r in rows) == ["wu-alex", "wu-alex2", "wv-visitor"]
    assert {"customer", "org_name", "outcome", "revenue_minor", "currency"} <= set(rows[0])
    said = list(q.export("messages", Filters(customer="olivia")))
    assert [r["text"] for r in said] == ["the thing with money", "talk to a person"]
    assert said[0]["review"] == "handoff_after_miss" and said[0]["at"].endswith("+00:00")
    assert [r["number"] for r in q.export("handoffs", Filters())] == ["HO-3001"]
    assert [r["state"] for r in q.export("ratings", Filters(period=Period(DAY1, DAY1)))] == ["helpful"]
    [placed] = q.export("orders", Filters(org="acme"))
    assert placed["total_minor"] > 0 and placed["currency"] == "USD"
    assert list(q.export("labels", Filters())) == []
    with st.console.begin() as conn:
        conn.execute(
            update(messages)
            .where(messages.c.text == "the thing with money")
            .values(label="pay_invoice", labelled_by="dana@vendor.example")
        )
    assert [(r["text"], r["label"]) for r in q.export("labels", Filters())] == [("the thing with money", "pay_invoice")]
    with pytest.raises(KeyError):
        q.export("events", Filters())
