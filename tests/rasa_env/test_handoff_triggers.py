"""When the assistant offers a person (issue 6), through the actions against the real billing backend:
a large order offers sales before anything is placed (and the handoff names the quote left
unplaced), and an anonymous visitor's first price answer offers a sales rep, once. (Two
misunderstandings in a row: tests/rasa_env/test_actions_basics.py.)

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env tests/rasa_env
"""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal

from bot.actions.handoff import ActionHandoff
from bot.actions.licenses import ActionQuoteLicenses, ValidateLicenseForm
from bot.actions.pricing import ActionPricing
from bot.actions.quotes import LARGE_ORDER_AMOUNT, LARGE_ORDER_QUANTITY, large_order_limits
from tests.rasa_env.test_actions_basics import OPEN, ent, run, texts, tracker, user
from tests.rasa_env.test_actions_changes import Chat, billing, close_clients, orders_count, titles  # noqa: F401

LARGE = ["Yes, place it", "Talk to sales first", "No"]


def handoffs(db_dir) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db_dir / "b.sqlite3") as db:
        return db.execute("select queue, reason, coalesce(intent, '') from handoffs").fetchall()


def test_a_large_order_offers_sales_before_anything_is_placed(billing, tmp_path, monkeypatch):
    monkeypatch.delenv("LARGE_ORDER_QUANTITY", raising=False)
    monkeypatch.delenv("LARGE_ORDER_AMOUNT", raising=False)
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:9")  # no gateway: the record is made anyway
    monkeypatch.setenv("APP_ENV", "development")  # the metadata's "now" below: sales is open

    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 150 enterprise licenses", "add_licenses", product="enterprise", quantity=150)
        await alex.run(ValidateLicenseForm())
        quote = text = "\n".join(m["text"] for m in await alex.run(ActionQuoteLicenses()))
        number = alex.slots["pending_quote"]
        assert number and number in quote and "150 Enterprise licenses" in text
        assert "large order" in text and "(Talk to sales first)" in text
        last = text.splitlines()[-1]  # what Slack's confirm dialog asks: placing it, nothing else
        assert last.startswith(f"Quote {number}, valid until ") and last.endswith("Shall I place it as quoted?")
        assert titles(alex.replies) == LARGE
        assert orders_count(tmp_path) == 0  # nothing placed until a "yes"

        pressed = tracker(
            user("add 150 enterprise licenses", "add_licenses", email=alex.email),
            {"event": "bot", "text": quote},
            user("/talk_to_human", "talk_to_human", email=alex.email, now=OPEN),
            slots={"pending_quote": number},
        )
        messages, _ = await run(ActionHandoff(), pressed)
        assert "a person from Sales" in texts(messages)
        [(queue, reason, intent)] = handoffs(tmp_path)
        assert queue == "sales" and intent == "add_licenses" and f"quote {number} not placed" in reason
        assert orders_count(tmp_path) == 0

        alex.user("add 5 enterprise licenses", "add_licenses", product="enterprise", quantity=5)
        await alex.run(ValidateLicenseForm())
        await alex.run(ActionQuoteLicenses())
        assert titles(alex.replies) == ["Yes", "No"]  # an everyday order: no detour
        await close_clients()

    asyncio.run(scenario())


def test_the_large_order_limits_come_from_the_environment(billing, tmp_path, monkeypatch):
    monkeypatch.setenv("LARGE_ORDER_AMOUNT", "5,000")  # a year at list price: 5 × $165 × 12 = $9,900

    async def scenario() -> None:
        alex = Chat("alex@acme.example")
        alex.user("add 5 enterprise licenses", "add_licenses", product="enterprise", quantity=5)
        await alex.run(ValidateLicenseForm())
        await alex.run(ActionQuoteLicenses())
        assert titles(alex.replies) == LARGE
        await close_clients()

    asyncio.run(scenario())
    assert large_order_limits({"LARGE_ORDER_QUANTITY": "20", "LARGE_ORDER_AMOUNT": "250000.50"}) == (
        20,
        Decimal("250000.50"),
    )
    assert large_order_limits({"LARGE_ORDER_QUANTITY": "lots", "LARGE_ORDER_AMOUNT": "much"}) == (
        LARGE_ORDER_QUANTITY,
        LARGE_ORDER_AMOUNT,
    )


def test_a_visitor_is_offered_sales_after_the_first_price_only(billing):
    asked = user(
        "how much is Enterprise for 40 users?", "ask_pricing", [ent("product", "enterprise"), ent("quantity", 40)]
    )

    async def scenario() -> None:
        first, _ = await run(ActionPricing(), tracker(asked))
        assert "$6,600.00 per month" in texts(first)
        assert "Pricing 40 users for your team? A sales rep can go through editions" in texts(first)
        assert first[0]["buttons"] == [{"title": "Talk to sales", "payload": "/talk_to_human"}]

        again, _ = await run(
            ActionPricing(),
            tracker(
                asked,
                {"event": "bot", "text": first[0]["text"]},
                user("and Dialer?", "ask_pricing", [ent("product", "dialer")]),
            ),
        )
        assert "A sales rep" not in texts(again) and again[0]["buttons"][0]["title"] == "Talk to sales"

        customer, _ = await run(
            ActionPricing(),
            tracker(user("how much is Dialer?", "ask_pricing", [ent("product", "dialer")], email="alex@acme.example")),
        )
        assert "A sales rep" not in texts(customer) and not customer[0].get("buttons")
        await close_clients()

    asyncio.run(scenario())
