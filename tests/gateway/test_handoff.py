"""Human handoff through the gateway: the queue channel's summary, the claim (one winner), the live
bridge both ways (widget and Slack DM), old bot buttons pressed during it, Rasa's conversation
paused and recording meanwhile, close -> the bot answers again, out of hours, re-alerts, many
workspaces (OAuth).

The gateway runs its real app (Slack, widget and handoff channels) against the local Slack Web API
mock with signed requests; Rasa (its webhook and its HTTP API) and billing are recording stand-ins
(httpx mock transports)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from bot.billing_client import BillingClient
from bot.gateway.app import Gateway, create_app
from bot.gateway.config import GatewaySettings
from bot.gateway.handoff.queues import QueueConfigError, parse_hours, queues_from
from bot.gateway.handoff.tracker import HandoffTracker
from bot.gateway.rasa import NO_TEXT, Rasa
from bot.gateway.ratings import OFFER
from tests.gateway.test_widget import Client, FakeRasa, open_ws, say, until
from tests.slack_mock import SlackMock, SlackSender, new_ts
from tests.waiting import steady

SECRET = "test-signing-secret"
TOKEN = "dev-gateway-token"
FRIDAY_10AM_NY = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)


class Billing:
    """Billing's handoff records, as GET /v1/handoffs/{number}?conversation_id= answers them."""

    def __init__(self) -> None:
        self.handoffs: dict[str, dict[str, Any]] = {}

    def add(self, number: str, conversation_id: str, queue: str = "sales") -> None:
        self.handoffs[number] = {
            "number": number,
            "queue": queue,
            "reason": "Website visitor asked for a person from sales",
            "status": "open",
            "org_id": None,
            "edition": None,
            "lead_name": "Sam Lee",
            "lead_email": "sam@globex.example",
            "lead_company": "Globex",
            "lead_phone": None,
            "channel": "widget",
            "conversation_id": conversation_id,
            "created_at": "2026-11-27T15:00:00+00:00",
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        number = request.url.path.rsplit("/", 1)[-1]
        found = self.handoffs.get(number)
        if (
            request.url.path.startswith("/v1/handoffs/")
            and found
            and request.url.params.get("conversation_id") == found["conversation_id"]
        ):
            return httpx.Response(200, json=found)
        return httpx.Response(404, json={"error": {"code": "unknown_handoff", "message": "no"}})


@pytest.fixture
def slack_api() -> Iterator[SlackMock]:
    with SlackMock() as mock:
        mock.add_user("UALEX", "alex@acme.example", "Alex Rivera")
        mock.add_user("UDANA", "dana@vendor.example", "Dana Scully")
        mock.add_user("UFOX", "fox@vendor.example", "Fox Mulder")
        yield mock


@pytest.fixture
def billing() -> Billing:
    return Billing()


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


API_TOKEN = "rasa-api-test-token"


class RasaApi:
    """Rasa's HTTP API as the bridge uses it: each conversation's appended events (after the token
    check), and NLU's reading from /model/parse. ``down``: every call fails to connect."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.params.get("token") != API_TOKEN:
            return httpx.Response(401, json={"message": "NotAuthenticated"})
        body = json.loads(request.content)
        if request.url.path == "/model/parse":
            intent = {"Yes": "affirm", "No": "deny"}.get(body["text"], "inform")
            return httpx.Response(
                200, json={"text": body["text"], "intent": {"name": intent, "confidence": 0.9}, "entities": []}
            )
        conversation = request.url.path.removeprefix("/conversations/").removesuffix("/tracker/events")
        self.events.setdefault(conversation, []).extend(body)
        return httpx.Response(200, json={"sender_id": conversation})

    def of(self, sender: str) -> list[dict[str, Any]]:
        return self.events.get(sender, [])


@pytest.fixture
def rasa_api() -> RasaApi:
    return RasaApi()


def gateway(gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch, **settings: Any) -> Client:
    for name in [n for n in __import__("os").environ if n.startswith(("SLACK_", "HANDOFF_", "RASA_"))]:
        monkeypatch.delenv(name)
    settings = GatewaySettings(
        **{
            "slack_signing_secret": SECRET,
            "slack_bot_token": "xoxb-test",
            "slack_api_url": slack_api.api_url,
            "handoff_sales_channel": "CSALES",
            "handoff_support_channel": "CSUPPORT",
            "handoff_realert_minutes": 5,
            "gateway_token": TOKEN,
            **settings,
        }
    )
    gw = Gateway(
        settings=settings,
        state=gateway_state,
        rasa=Rasa("http://rasa.test/webhooks/gateway/webhook", "t", transport=httpx.MockTransport(rasa)),
        billing=BillingClient("http://billing.test", "t", transport=httpx.MockTransport(billing)),
    )
    c = Client(create_app(gw=gw)).__enter__()
    bridge = c.app.state.handoff
    bridge.clock = lambda: FRIDAY_10AM_NY
    c.portal.call(bridge.tracker.aclose)
    bridge.tracker = HandoffTracker("http://rasa.test", API_TOKEN, timeout=0.5, transport=httpx.MockTransport(rasa_api))
    return c


@pytest.fixture
def client(gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch) -> Iterator[Client]:
    c = gateway(gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch)
    try:
        yield c
    finally:
        c.__exit__(None, None, None)


def recorded(client, rasa_api: RasaApi, sender: str) -> list[dict[str, Any]]:
    """What Rasa's record of the conversation got from the bridge (once the bridge has sent it)."""
    client.portal.call(client.app.state.handoff.tracker.drain)
    return rasa_api.of(sender)


@pytest.fixture
def slack(client) -> SlackSender:
    return SlackSender("http://testserver", SECRET, client=client)


def open_handoff(client, billing, sender: str, number: str = "H-1001", **more: Any) -> httpx.Response:
    billing.add(number, sender)
    body = {
        "number": number,
        "conversation_id": sender,
        "queue": "sales",
        "channel": "widget",
        "reason": "Website visitor asked for a person from sales after ask pricing",
        "intent": "ask_pricing",
        "page_url": "https://vendor.example/pricing",
        "lead": {"name": "Sam Lee", "email": "sam@globex.example", "company": "Globex"},
        "transcript": [
            {"from": "user", "text": "how much is Enterprise for 40 users?"},
            {"from": "bot", "text": "Enterprise for 40 users is $6,600.00 a month."},
            {"from": "user", "text": "<!channel> can I talk to someone?"},
        ],
        **more,
    }
    return client.post("/handoff/internal/opened", json=body, headers={"Authorization": f"Bearer {TOKEN}"})


def summary_post(slack_api: SlackMock, number: str = "H-1001"):
    return slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: (
            c.args.get("channel") == "CSALES" and number in (c.args.get("text") or "") and not c.args.get("thread_ts")
        ),
    )[-1]


def posted_message(call) -> dict[str, Any]:
    blocks = call.args["blocks"]
    return {
        "ts": call.ts,
        "text": call.args["text"],
        "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks,
    }


def thread_reply(slack: SlackSender, user: str, thread_ts: str, text: str, channel: str = "CSALES") -> None:
    """A person's reply in a thread."""
    ts = new_ts()
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "team": slack.team,
    }
    assert slack.event(event).status_code == 200


def visitor(client) -> tuple[Any, str]:
    ws = open_ws(client)
    token = until(ws, "welcome")["visitor"]
    return ws, "wv-" + token.split(".")[1]


# -- the widget visitor's whole handoff ------------------------------------------------------------------


def test_visitor_handoff_post_claim_relay_both_ways_and_close(client, slack, slack_api, billing, rasa, rasa_api):
    ws, sender = visitor(client)
    answer = open_handoff(client, billing, sender)
    assert answer.status_code == 200
    assert answer.json()["open"] is True and answer.json()["posted"] is True
    post = summary_post(slack_api)
    shown = json.dumps(post.args["blocks"])
    for expected in (
        "Sales handoff H-1001",
        "ask_pricing",
        "Globex",
        "https://vendor.example/pricing",
        "widget",
        "how much is Enterprise for 40 users?",
        "Claim",
    ):
        assert expected in shown
    assert "<!channel>" not in shown  # the customer's words are escaped

    assert slack.click("UDANA", "CSALES", posted_message(post), "Claim").status_code == 200
    update = slack_api.wait_for("chat.update", where=lambda c: c.args.get("ts") == post.ts)[-1]
    assert "Claimed by <@UDANA>" in json.dumps(update.args["blocks"]) and "Close" in json.dumps(update.args["blocks"])
    joined = until(ws, "msg", **{"from": "agent"})
    assert joined["text"].startswith("Dana from Sales joined") and joined["name"] == "Dana from Sales"

    thread_reply(slack, "UDANA", post.ts, "Hi Sam, happy to help with *Enterprise* pricing.")
    reply = until(ws, "msg", **{"from": "agent"})
    assert reply["text"] == "Hi Sam, happy to help with *Enterprise* pricing." and reply["name"] == "Dana from Sales"

    ws.send_text(json.dumps({"type": "message", "id": "cid-00000001", "text": "Can we get a discount for 40?"}))
    slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: (
            c.args.get("thread_ts") == post.ts and "Can we get a discount for 40?" in c.args.get("text", "")
        ),
    )
    assert rasa.texts() == []  # the bot stays silent while a person has the conversation
    # ... and Rasa's conversation is paused, and records both sides
    events = recorded(client, rasa_api, sender)
    assert [e["event"] for e in events] == ["pause", "bot", "bot", "user"]
    assert events[2]["text"] == "Hi Sam, happy to help with *Enterprise* pricing."
    assert events[2]["metadata"] == {"handoff": "H-1001", "rep": "UDANA", "rep_name": "Dana from Sales"}
    assert (
        events[3]["text"] == "Can we get a discount for 40?" and events[3]["parse_data"]["intent"]["name"] == "inform"
    )

    closing = slack_api.wait_for("chat.update", where=lambda c: c.args.get("ts") == post.ts)[-1]
    assert slack.click("UDANA", "CSALES", posted_message(closing), "Close").status_code == 200
    back = until(ws, "msg", **{"from": "bot"})
    assert "back with the assistant" in back["text"]
    slack_api.wait_for("chat.update", where=lambda c: "Closed by <@UDANA>" in json.dumps(c.args.get("blocks")))
    closed = recorded(client, rasa_api, sender)[4:]
    assert [e["event"] for e in closed] == ["resume", "slot", "slot", "bot"]
    assert {e["name"] for e in closed if e["event"] == "slot"} == {"pending_quote", "pending_payment"}
    assert closed[-1]["text"] == back["text"]

    # The close offers the visitor a rating of the help they had (bot/gateway/ratings.py).
    offer = until(ws, "msg", **{"from": "bot"})
    assert offer["text"] == OFFER and offer["rating"], offer
    [row] = client.app.state.gateway.ratings.of_conversation_sync(sender)
    assert (row["id"], row["task"], row["channel"], row["state"]) == (
        offer["rating"],
        "handoff_closed",
        "widget",
        "offered",
    )

    ws.send_text(json.dumps({"type": "message", "id": "cid-00000002", "text": "thanks, what about Dialer?"}))
    assert until(ws, "msg", **{"from": "bot"})["text"] == "you said: thanks, what about Dialer?"
    assert rasa.texts() == ["thanks, what about Dialer?"]
    ws.close()


def claimed(
    client,
    slack,
    slack_api,
    billing,
    sender: str,
    number: str,
    queue: str = "sales",
    channel: str = "CSALES",
    **more: Any,
):
    """A handoff opened and claimed by Dana: its summary post (the thread)."""
    open_handoff(client, billing, sender, number=number, queue=queue, **more)
    post = slack_api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == channel and number in (c.args.get("text") or "")
    )[-1]
    assert slack.click("UDANA", channel, posted_message(post), "Claim").status_code == 200
    slack_api.wait_for("chat.update", where=lambda c: c.args.get("ts") == post.ts)
    return post


def test_an_old_bot_button_pressed_in_the_widget_during_a_handoff_goes_to_the_rep(
    client, slack, slack_api, billing, rasa, rasa_api
):
    ws, sender = visitor(client)
    asked = say(ws, "buttons", "cid-00000011")  # the bot's Yes/No, from before the handoff
    assert [b["payload"] for b in asked["buttons"]] == ["/affirm", "/deny"]
    post = claimed(client, slack, slack_api, billing, sender, "H-1010")
    until(ws, "msg", **{"from": "agent"})  # joined

    ws.send_text(json.dumps({"type": "message", "id": "cid-00000012", "text": "Yes", "payload": "/affirm"}))
    relayed = slack_api.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts)[-1]
    assert relayed.args["text"] == "*Customer* (pressed a button): Yes"
    assert rasa.texts() == ["buttons"]  # the click did nothing in the bot
    user = [e for e in recorded(client, rasa_api, sender) if e["event"] == "user"]
    assert [(e["text"], e["parse_data"]["intent"]["name"]) for e in user] == [("Yes", "affirm")]
    ws.close()


def test_a_message_for_the_rep_is_framed_by_typing_on_and_off_like_any_turn(client, slack, slack_api, billing):
    """The widget's protocol: each message's turn is typing on ... off, whoever answers it (here the
    bridge relays it to the rep); a client waits for "off" to know the turn is over."""
    ws, sender = visitor(client)
    post = claimed(client, slack, slack_api, billing, sender, "H-1013")
    until(ws, "msg", **{"from": "agent"})  # joined
    ws.send_text(json.dumps({"type": "message", "id": "cid-00000013", "text": "Are you there?"}))
    slack_api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts and "Are you there?" in c.args["text"]
    )
    thread_reply(slack, "UDANA", post.ts, "Yes, here.")  # something to wait for that comes anyway
    frames = [ws.receive_json()]
    while frames[-1].get("from") != "agent":
        frames.append(ws.receive_json())
    typing = [f["on"] for f in frames if f["type"] == "typing"]
    if typing == [True]:  # the rep was quicker than the end of the turn
        typing.append(ws.receive_json()["on"])
    assert frames[0]["from"] == "user" and typing == [True, False], frames


def test_an_old_bot_button_clicked_in_slack_during_a_handoff_goes_to_the_rep(
    client, slack, slack_api, billing, rasa, rasa_api
):
    sender = f"slack:{slack.team}:UALEX"
    slack.event(slack.dm("UALEX", "buttons"))
    offered = slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == "DUALEX" and "you said: buttons" in c.args.get("text", ""),
    )[-1]
    post = claimed(client, slack, slack_api, billing, sender, "H-1011", queue="support", channel="CSUPPORT", lead={})
    slack_api.wait_for("chat.postMessage", where=lambda c: "Dana from Support joined" in c.args.get("text", ""))

    assert slack.click("UALEX", "DUALEX", posted_message(offered), "Yes").status_code == 200
    relayed = slack_api.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts)[-1]
    assert relayed.args["text"] == "*Customer* (pressed a button): Yes"
    assert rasa.texts() == ["buttons"]
    # the pressed message shows what was chosen, and the bot said nothing in the DM
    slack_api.wait_for("chat.update", where=lambda c: c.args.get("ts") == offered.ts)
    assert not [c for c in slack_api.called("chat.postMessage", channel="DUALEX") if c.at > relayed.at]
    user = [e for e in recorded(client, rasa_api, sender) if e["event"] == "user"]
    assert [(e["text"], e["metadata"]["channel"]) for e in user] == [("Yes", "slack")]


def test_with_rasa_unreachable_the_rep_and_the_customer_still_talk(client, slack, slack_api, billing, rasa, rasa_api):
    rasa_api.down = True
    ws, sender = visitor(client)
    post = claimed(client, slack, slack_api, billing, sender, "H-1012")
    assert until(ws, "msg", **{"from": "agent"})["text"].startswith("Dana from Sales joined")
    thread_reply(slack, "UDANA", post.ts, "Hello from Dana")
    assert until(ws, "msg", **{"from": "agent"})["text"] == "Hello from Dana"
    ws.send_text(json.dumps({"type": "message", "id": "cid-00000021", "text": "Hi Dana"}))
    slack_api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts and "Hi Dana" in c.args.get("text", "")
    )
    started = time.monotonic()
    thread_reply(slack, "UDANA", post.ts, "close")
    assert "back with the assistant" in until(ws, "msg", **{"from": "bot"})["text"]
    assert time.monotonic() - started < 5  # the resume gave up after its timeout
    assert rasa.texts() == [] and recorded(client, rasa_api, sender) == []
    ws.close()


def test_two_reps_claiming_at_once_get_one_winner(client, slack, slack_api, billing):
    ws, sender = visitor(client)
    open_handoff(client, billing, sender, number="H-1002")
    message = posted_message(summary_post(slack_api, "H-1002"))
    barrier = threading.Barrier(2)

    def claim(rep: str) -> None:
        barrier.wait()
        slack.click(rep, "CSALES", message, "Claim")

    threads = [threading.Thread(target=claim, args=(rep,)) for rep in ("UDANA", "UFOX")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    told = slack_api.wait_for("chat.postEphemeral")
    slack_api.quiet(0.5)
    updates = slack_api.called("chat.update", ts=message["ts"])
    assert len(updates) == 1 and len(slack_api.called("chat.postEphemeral")) == 1
    winner = "UDANA" if "<@UDANA>" in json.dumps(updates[0].args["blocks"]) else "UFOX"
    loser = told[0].args["user"]
    assert loser != winner and told[0].args["text"] == f"Already claimed by <@{winner}>."
    ws.close()


def test_out_of_hours_the_answer_says_so_and_the_post_is_marked(client, billing, slack_api):
    client.app.state.handoff.clock = lambda: SATURDAY
    ws, sender = visitor(client)
    answer = open_handoff(client, billing, sender, number="H-1003").json()
    assert answer["open"] is False and answer["phone"] == "1-800-667-6389"
    assert answer["hours"] == "Mon–Fri 9 am–5 pm (America/New_York)"
    assert "Out of hours" in json.dumps(summary_post(slack_api, "H-1003").args["blocks"])
    ws.close()


def test_a_slack_customers_handoff_works_through_their_dm(client, slack, slack_api, billing, rasa):
    sender = f"slack:{slack.team}:UALEX"
    open_handoff(client, billing, sender, number="H-1004", queue="support", channel="slack", lead={})
    post = slack_api.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "CSUPPORT")[-1]
    slack.click("UDANA", "CSUPPORT", posted_message(post), "Claim")
    slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == "DUALEX" and "Dana from Support joined" in c.args.get("text", ""),
    )

    thread_reply(slack, "UDANA", post.ts, "Hi Alex, I'm looking at your invoice now.", channel="CSUPPORT")
    slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == "DUALEX" and "looking at your invoice" in c.args.get("text", ""),
    )
    slack.event(slack.dm("UALEX", "It's INV-1042, paid with 4111 1111 1111 1111"))
    relayed = slack_api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts and "INV-1042" in c.args.get("text", "")
    )[-1]
    assert "4111" not in relayed.args["text"] and "card number removed" in relayed.args["text"]
    # Nothing readable (invisible characters only): the customer is told so, the thread gets nothing.
    in_thread = len(slack_api.called("chat.postMessage", thread_ts=post.ts))
    slack.event(slack.dm("UALEX", "\u200b\u2060\ufeff"))
    slack_api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == "DUALEX" and c.args.get("text") == NO_TEXT
    )
    assert len(slack_api.called("chat.postMessage", thread_ts=post.ts)) == in_thread
    thread_reply(slack, "UFOX", post.ts, "(internal) I can take the next one", channel="CSUPPORT")  # not relayed

    thread_reply(slack, "UDANA", post.ts, "close", channel="CSUPPORT")
    back = slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == "DUALEX" and "back with the assistant" in c.args.get("text", ""),
    )[-1]
    # Then the customer is offered a rating in their DM; Helpful is acknowledged in place.
    offer = slack_api.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == "DUALEX" and c.args.get("text") == OFFER
    )[-1]
    assert offer.at > back.at
    assert slack.click("UALEX", "DUALEX", posted_message(offer), "👍 Helpful").status_code == 200
    thanked = slack_api.wait_for("chat.update", where=lambda c: c.args.get("ts") == offer.ts)[-1]
    assert "Thanks for letting us know" in json.dumps(thanked.args["blocks"])
    assert not [b for b in thanked.args["blocks"] if b["type"] == "actions"]  # nothing left to press
    [row] = client.app.state.gateway.ratings.of_conversation_sync(sender)
    assert (row["task"], row["channel"], row["state"], row["team"]) == ("handoff_closed", "slack", "helpful", "T0001")
    assert row["customer"] == "alex@acme.example"
    assert rasa.texts() == []
    assert not slack_api.called(
        "chat.postMessage", channel="DUALEX", text="*Dana from Support:* (internal) I can take the next one"
    )
    slack.event(slack.dm("UALEX", "list my invoices"))
    slack_api.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == "DUALEX" and "you said: list my invoices" in c.args.get("text", ""),
    )


def test_unclaimed_handoffs_are_realerted_then_the_customer_is_offered_the_phone(client, billing, slack_api):
    ws, sender = visitor(client)
    open_handoff(client, billing, sender, number="H-1005")
    post = summary_post(slack_api, "H-1005")
    bridge = client.app.state.handoff
    bridge.clock = lambda: FRIDAY_10AM_NY + timedelta(minutes=6)
    client.portal.call(bridge.watch_once)
    alert = slack_api.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts)[-1]
    assert alert.args["text"].startswith("<!here> Sales handoff H-1005 is still unclaimed after 6 minutes")
    bridge.clock = lambda: FRIDAY_10AM_NY + timedelta(minutes=11)
    client.portal.call(bridge.watch_once)
    offered = until(ws, "msg", **{"from": "bot"})
    assert "1-800-667-6389" in offered["text"] and "call me back" in offered["text"]
    client.portal.call(bridge.watch_once)  # said once
    assert len(slack_api.called("chat.postMessage", thread_ts=post.ts)) == 1
    ws.close()


def test_two_gateway_replicas_watching_the_same_handoff_realert_it_once(
    client, gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch
):
    ws, sender = visitor(client)
    open_handoff(client, billing, sender, number="H-1006")
    post = summary_post(slack_api, "H-1006")
    replica = gateway(gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch)  # same database
    try:
        # Both replicas read a handoff as waiting and not yet alerted before either wrote: the
        # store lets one of them alert and one offer the phone.
        open_handoff(client, billing, sender, number="H-1007")
        now = FRIDAY_10AM_NY + timedelta(minutes=11)
        for step in ("alerted", "escalated"):
            wins = [c.portal.call(getattr(c.app.state.handoff.store, step), "H-1007", now) for c in (client, replica)]
            assert wins == [True, False], step
        # And watching H-1006 on both, one after the other: one alert, one offer.
        for c in (client, replica):
            c.app.state.handoff.clock = lambda: FRIDAY_10AM_NY + timedelta(minutes=11)
        for c in (client, replica):
            c.portal.call(c.app.state.handoff.watch_once)
        slack_api.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == post.ts)
        offered = until(ws, "msg", **{"from": "bot"})
        assert "1-800-667-6389" in offered["text"]
        # a second alert, if one were coming, would be posted while the count settles
        assert steady(lambda: len(slack_api.called("chat.postMessage", thread_ts=post.ts))) == 1
        ws.send_text(json.dumps({"type": "ping"}))
        later = []
        while (frame := ws.receive_json())["type"] != "pong":
            later.append(frame)
        assert not [m for m in later if "1-800-667-6389" in str(m.get("text"))]  # offered once
    finally:
        replica.__exit__(None, None, None)
    ws.close()


def test_the_internal_endpoint_needs_the_token_and_a_real_handoff(client, billing):
    assert client.post("/handoff/internal/opened", json={}).status_code == 401
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/handoff/internal/opened", json={"number": "H-1"}, headers=headers).status_code == 422
    forged = {"number": "H-9999", "conversation_id": "wv-someone", "queue": "sales", "reason": "x"}
    assert client.post("/handoff/internal/opened", json=forged, headers=headers).status_code == 404


# -- queue configuration -----------------------------------------------------------------------------------


def test_business_hours_time_zones_and_holidays():
    queues = queues_from(
        GatewaySettings(
            handoff_sales_hours="Mon-Fri 09:00-17:00; Sat 10:00-14:00",
            handoff_sales_timezone="Europe/Paris",
            handoff_sales_holidays="2026-12-25",
        )
    )
    sales = queues["sales"]
    assert sales.is_open(datetime(2026, 11, 27, 8, 30, tzinfo=timezone.utc))  # 9:30 in Paris
    assert not sales.is_open(datetime(2026, 11, 27, 16, 30, tzinfo=timezone.utc))  # 17:30 in Paris
    assert sales.is_open(datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc))  # Saturday 11:00
    assert not sales.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=timezone.utc))  # a holiday
    assert sales.hours_label() == "Mon–Fri 9 am–5 pm; Sat 10 am–2 pm (Europe/Paris)"
    with pytest.raises(QueueConfigError, match="HANDOFF_SALES_HOURS"):
        queues_from(GatewaySettings(handoff_sales_hours="weekdays 9 to 5"))
    with pytest.raises(QueueConfigError, match="HANDOFF_SUPPORT_TIMEZONE"):
        queues_from(GatewaySettings(handoff_support_timezone="Mars/Olympus"))
    assert parse_hours("") == ()


def test_a_callback_request_is_posted_to_its_queue_and_the_handoffs_thread(client, billing, slack_api):
    ws, sender = visitor(client)
    open_handoff(client, billing, sender, number="H-1006")
    post = summary_post(slack_api, "H-1006")
    body = {
        "number": "CB-7",
        "queue": "sales",
        "name": "Sam <!here> Lee",
        "phone": "+14155550199",
        "window": "Mon Nov 30, 9–12 am",
        "timezone": "America/New_York",
        "handoff": "H-1006",
        "conversation_id": sender,
        "channel": "widget",
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/handoff/internal/callback", json=body).status_code == 401
    assert client.post("/handoff/internal/callback", json=body, headers=headers).json() == {"posted": True}
    posts = slack_api.wait_for("chat.postMessage", 2, where=lambda c: "Callback CB-7" in c.args.get("text", ""))
    assert {p.args.get("thread_ts") for p in posts} == {None, post.ts}
    text = posts[-1].args["text"]
    assert "+14155550199" in text and "Mon Nov 30, 9–12 am" in text and "<!here>" not in text
    ws.close()


# -- many workspaces (OAuth) --------------------------------------------------------------------------


def install(gateway_state, team: str, token: str) -> None:
    store = SQLAlchemyInstallationStore(client_id="111.222", engine=gateway_state.engine)
    store.create_tables()
    store.save(
        Installation(
            app_id="A0001",
            team_id=team,
            bot_token=token,
            bot_id=f"B{team}",
            bot_user_id="UBOT",
            user_id="UINSTALLER",
            bot_scopes="chat:write",
        )
    )


def test_with_many_workspaces_the_bridge_posts_with_each_teams_installation(
    gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch
):
    """Reps in the vendor's workspace (HANDOFF_SLACK_TEAM), the customer in their own: the queue
    channel gets the vendor installation's token, the customer's DM their workspace's."""
    c = gateway(
        gateway_state,
        slack_api,
        billing,
        rasa,
        rasa_api,
        monkeypatch,
        slack_bot_token="",
        slack_client_id="111.222",
        slack_client_secret="shh",
        handoff_slack_team="TVENDOR",
    )
    try:
        install(gateway_state, "TVENDOR", "xoxb-vendor")
        install(gateway_state, "TCUSTOMER", "xoxb-customer")
        vendor = SlackSender("http://testserver", SECRET, team="TVENDOR", client=c)
        customer = SlackSender("http://testserver", SECRET, team="TCUSTOMER", client=c)
        sender = "slack:TCUSTOMER:UALEX"
        post = claimed(c, vendor, slack_api, billing, sender, "H-1020", queue="support", channel="CSUPPORT", lead={})
        assert post.token == "xoxb-vendor"
        joined = slack_api.wait_for("chat.postMessage", where=lambda x: x.args.get("channel") == "DUALEX")[-1]
        assert "Dana from Support joined" in joined.args["text"] and joined.token == "xoxb-customer"

        customer.event(customer.dm("UALEX", "Thanks, it's about INV-1042"))
        relayed = slack_api.wait_for(
            "chat.postMessage",
            where=lambda x: x.args.get("thread_ts") == post.ts and "INV-1042" in x.args.get("text", ""),
        )[-1]
        assert relayed.token == "xoxb-vendor"
        thread_reply(vendor, "UDANA", post.ts, "On it", channel="CSUPPORT")
        answer = slack_api.wait_for(
            "chat.postMessage", where=lambda x: x.args.get("channel") == "DUALEX" and "On it" in x.args.get("text", "")
        )[-1]
        assert answer.token == "xoxb-customer"
        assert {x.token for x in slack_api.calls if x.method.startswith("chat.")} == {"xoxb-vendor", "xoxb-customer"}
    finally:
        c.__exit__(None, None, None)


def test_without_the_vendor_team_many_workspaces_record_the_handoff_but_post_nothing(
    gateway_state, slack_api, billing, rasa, rasa_api, monkeypatch
):
    c = gateway(
        gateway_state,
        slack_api,
        billing,
        rasa,
        rasa_api,
        monkeypatch,
        slack_bot_token="",
        slack_client_id="111.222",
        slack_client_secret="shh",
    )
    try:
        install(gateway_state, "T0001", "xoxb-customer")
        answer = open_handoff(c, billing, "slack:T0001:UALEX", number="H-1021", channel="slack", lead={})
        assert answer.status_code == 200 and answer.json()["posted"] is False
        assert not slack_api.called("chat.postMessage")
    finally:
        c.__exit__(None, None, None)


# -- the Slack Web API mock ------------------------------------------------------------------------------


def test_the_slack_mocks_message_ts_are_unique_and_increasing(slack_api):
    """Threads are matched by ts: the mock's posts and the test sender's events never share one,
    even within one second, across threads and across mocks."""
    made: list[str] = []

    def post(n: int) -> None:
        with httpx.Client(base_url=slack_api.api_url) as http:
            for _ in range(n):
                made.append(http.post("chat.postMessage", data={"channel": "C1", "text": "x"}).json()["ts"])

    threads = [threading.Thread(target=post, args=(30,)) for _ in range(3)]
    for t in threads:
        t.start()
    events = [new_ts() for _ in range(200)]
    for t in threads:
        t.join()
    with SlackMock() as other:
        made.append(httpx.post(other.api_url + "chat.postMessage", data={"channel": "C1"}).json()["ts"])
    every = made + events
    assert len(set(every)) == len(every) == 291
    assert events == sorted(events) and all(len(ts.split(".")[1]) == 6 for ts in every)


# -- Rasa's HTTP API is never served without a token -------------------------------------------------------


def test_rasa_enables_its_http_api_only_with_a_token():
    from bot.rasa_server.run import with_api_token

    argv = ["rasa", "run", "--enable-api", "--port", "5005"]
    assert with_api_token(argv, {"RASA_API_TOKEN": "s3cret"}) == [*argv, "--auth-token", "s3cret"]
    with pytest.raises(SystemExit, match="RASA_API_TOKEN"):
        with_api_token(argv, {"RASA_API_TOKEN": " "})
    assert with_api_token(["rasa", "run"], {}) == ["rasa", "run"]  # no API asked for: nothing to add
