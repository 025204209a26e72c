"""The indexer over events the real Rasa server wrote (the session's stack, tests/e2e/stack.py: Rasa
with the trained model, the action server and billing, through Rasa's gateway channel), so the index
reads Rasa's tracker as Rasa 3.6 writes it, not only as the other tests imitate it."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, select

from bot.console.data.api import Filters
from bot.console.data.index import Indexer
from bot.console.data.queries import Queries
from bot.console.data.tables import orders


def test_a_real_order_and_an_out_of_scope_question_are_indexed(stack, chat, tmp_path):
    alex = chat("alex", channel="widget")
    assert "Q-" in alex.text("add 5 licenses")
    assert "ORD-" in alex.press("Yes")
    visitor = chat(None, channel="widget")
    visitor.text("what's the weather")

    console = create_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    tracker = create_engine(f"sqlite:///{stack.tracker_db}")
    gateway = create_engine(stack.env()["GATEWAY_DATABASE_URL"])
    try:
        index = Indexer(console, tracker, gateway)
        assert index.run_all() > 0
        q = Queries(console)
        row = q.search(Filters(customer="alex@acme.example", outcome="completed")).rows
        [mine] = [r for r in row if r.sender == alex.sender]
        assert (mine.channel, mine.turns, mine.tasks, mine.outcome) == ("widget", 2, ["order_placed"], "completed")
        said = q.transcript(alex.sender)
        assert said is not None
        customer = [(line.text, line.intent) for line in said.lines if line.author == "customer"]
        assert customer == [("add 5 licenses", "add_licenses"), ("Yes", "affirm")]  # the button's title
        quote = next(line for line in said.lines if line.author == "bot")
        assert quote.buttons[:2] == ["Yes", "No"] and "Q-" in quote.text
        with console.connect() as conn:
            placed = conn.execute(select(orders.c.number).where(orders.c.sender == alex.sender)).scalars().all()
        assert len(placed) == 1 and re.fullmatch(r"ORD-\d+", placed[0])
        [weather] = q.search(Filters(outcome="abandoned", channel="widget")).rows[:1] or [None]
        visited = q.transcript(visitor.sender)
        assert visited is not None and visited.conversation.customer is None
        assert [line.intent for line in visited.lines if line.author == "customer"] == ["out_of_scope"]
        assert weather is not None
        assert index.run_once() == 0  # caught up
    finally:
        for engine in (console, tracker, gateway):
            engine.dispose()
