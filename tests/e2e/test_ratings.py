"""Ratings at the end of a task (bot/gateway/ratings.py) through the real stack: the widget in
headless Chromium and over its WebSocket, Rasa, the action server, billing, and the gateway's
database, where the rating is stored with the conversation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, select
from sqlalchemy.engine import Engine

from bot.gateway.ratings import MAX_COMMENT, OFFER, ratings
from tests.conftest import reset
from tests.e2e.test_widget import Widget, launch, playwright_api
from tests.e2e.widget_client import WidgetClient, signed_in

CARD = "4242 4242 4242 4242"


@pytest.fixture
def gateway_db(stack, billing_db) -> Iterator[Engine]:
    """The gateway's database, with no ratings yet (they would silence this session's offers)."""
    reset(billing_db)
    engine = create_engine(f"sqlite:///{stack.data_dir / 'gateway.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(delete(ratings))
    yield engine
    engine.dispose()


def rows(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(ratings).order_by(ratings.c.offered_at))]


@pytest.fixture
def page(stack) -> Iterator:
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        yield Widget(context.new_page(), stack.gateway_url).goto("/account")
        browser.close()


def test_a_widget_customer_rates_an_order_not_helpful_with_a_comment_and_is_not_asked_again(page, gateway_db):
    w = page
    w.open()
    quote = w.say("add 5 licenses")
    assert "Did that help?" not in quote and {"Yes", "No"} <= set(w.quick_replies()), quote
    assert not w.page.locator(".buttons.rating").count()  # never with a pending confirmation
    assert rows(gateway_db) == []
    before = w.replies()
    w.page.locator(".buttons.quick button", has_text="Yes").first.click()
    done = w.wait_reply(before)
    assert "ORD-" in done and OFFER in done, done
    helpful = w.page.locator(".buttons.rating button[data-value=helpful]")
    assert helpful.get_attribute("aria-label") == "Rate this: helpful"
    [offer] = rows(gateway_db)
    assert offer["state"] == "offered" and offer["task"] == "order_placed" and offer["channel"] == "widget"
    assert offer["customer"] == "alex@acme.example"

    # Keyboard: focus the "Not helpful" button and press Enter.
    before = w.replies()
    w.page.locator(".buttons.rating button[data-value=not_helpful]").focus()
    w.page.keyboard.press("Enter")
    asked = w.wait_reply(before)
    assert "What went wrong?" in asked, asked
    assert w.page.locator(".buttons.rating button[data-value=skip]").is_visible()
    assert rows(gateway_db)[0]["state"] == "not_helpful"

    saved = w.say(f"the price was confusing, and I pasted my card {CARD} by mistake")
    assert "passed that on" in saved, saved
    [rated] = rows(gateway_db)
    assert rated["state"] == "not_helpful" and "price was confusing" in rated["comment"]
    assert "4242" not in rated["comment"] and "card number removed" in rated["comment"]
    assert "4242" not in json.dumps([r for r in w.user_rows()])

    # The conversation goes on normally, and another task in this session gets no second offer.
    assert "INV-" in w.say("send me last invoice")
    sent = w.say("email it to ap@acme.example")
    assert "ap@acme.example" in sent and OFFER not in sent, sent
    assert len(rows(gateway_db)) == 1
    assert not w.problems, w.problems


async def _forged_and_oversized(gateway_url: str) -> None:
    async with WidgetClient(gateway_url, signed_in("alex@acme.example")) as client:
        assert client.welcome.get("user")
        # A rating for a conversation that was offered none: refused, nothing stored.
        await client.ws.send(json.dumps({"type": "rate", "offer": "made-up-offer-id", "value": "helpful"}))
        frame = await client.next_frame(10)
        assert frame["type"] == "error" and frame["code"] == "rating" and "nothing was recorded" in frame["message"]
        # A typed "rating payload" is just text for the assistant: no rating comes of it.
        await client.say('/rate{"value":"helpful"}')
        # A task completed: an offer, whose id the message carries.
        await client.say("add 2 licenses")
        await client.press("Yes")
        offers = [f for f in client.frames if f.get("rating")]
        assert len(offers) == 1 and offers[0]["text"] == OFFER, client.frames
        offer = offers[0]["rating"]
        # A value that was not offered: refused.
        await client.ws.send(json.dumps({"type": "rate", "offer": offer, "value": "excellent"}))
        frame = await client.next_frame(10)
        assert frame["type"] == "error" and "isn't one I know" in frame["message"]
        await client.ws.send(json.dumps({"type": "rate", "offer": offer, "value": "not_helpful"}))
        frame = await client.next_frame(10)
        assert frame["type"] == "msg" and "What went wrong?" in frame["text"] and frame["rating_step"] == "comment"
        # Rated already: a second tap (a double click, a forged frame) changes nothing.
        await client.ws.send(json.dumps({"type": "rate", "offer": offer, "value": "helpful"}))
        frame = await client.next_frame(10)
        assert frame["type"] == "error" and "already rated" in frame["message"]
        # A huge comment: refused with the limit, nothing stored; then Skip ends the wait. The
        # gateway answers the comment itself, framed by typing on/off like any turn (say waits for off).
        [refused] = await client.say("x" * (MAX_COMMENT + 1))
        assert "too long" in refused, refused
        await client.ws.send(json.dumps({"type": "rate", "offer": offer, "value": "skip"}))
        assert "anything else" in (await bot_says(client))["text"]


async def bot_says(client: WidgetClient) -> dict:
    """The next message from the bot (a rate frame is no turn: it has no typing dots)."""
    while True:
        frame = await client.next_frame(20)
        if frame["type"] == "msg" and frame["from"] == "bot":
            return frame
        assert frame["type"] != "error", frame


def test_forged_ratings_and_a_huge_comment_change_nothing(stack, gateway_db):
    asyncio.run(_forged_and_oversized(stack.gateway_url))
    [row] = rows(gateway_db)
    assert row["state"] == "not_helpful" and row["comment"] is None
