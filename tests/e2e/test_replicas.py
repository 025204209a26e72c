"""The production topology of `make run-prod` (bot/launch/production.py): two Rasa servers, two action
servers and two gateways behind the balancer, billing, Rasa's conversations and the gateways'
state on this machine's PostgreSQL, Rasa's lock store and the gateways' fan-out on its Redis.

- A widget visitor whose socket is on gateway 1 sees what gateway 2 produced, at once (Redis).
- Rasa and the gateways log in to Redis with a password, as a user of the stack's own.
- Two reps press Claim on one handoff at the same moment, through different gateways: one wins,
  the other is told who has it, the customer hears "... joined" once.
- Simulated customers under load (make bench's, small): every order once, every message recorded.
- A Rasa replica is killed mid-conversation: the conversation goes on on the other one with its
  tracker intact (the quote made before is ordered once; every turn is in PostgreSQL).

Without PostgreSQL or Redis these tests skip with a message; under CI=true they fail instead."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import ClientConnection, connect

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Order, Payment
from bot.gateway.config import GatewaySettings
from bot.gateway.widget.identity import Jwts, VisitorIds
from bot.launch.production import ProdStack
from bot.launch.runner import MODEL
from tests.bench.crowd import Ledger, people_for, simulate
from tests.bench.databases import add_customers
from tests.bench.production import check_billing, check_trackers, outbox_mails
from tests.billing.helpers import count, quantity
from tests.conftest import _postgres_database
from tests.e2e.test_production import POSTGRES, _redis_or_skip
from tests.slack_mock import SlackMock, SlackSender

SECRET = "e2e-replicas-signing-secret"
TURN_S = 45.0
FAST_S = 5.0  # the gateways' history poller runs every 30 s with Redis: quicker than this is pub/sub


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> Iterator[tuple[ProdStack, SlackMock, Database]]:
    _redis_or_skip()
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`", pytrace=False)
    dbs = [_postgres_database(POSTGRES) for _ in range(3)]
    billing_url, tracker_url, gateway_url = (next(d) for d in dbs)
    api = SlackMock().start()
    api.add_user("UDANA", "dana@vendor.example", "Dana Scully")
    api.add_user("UFOX", "fox@vendor.example", "Fox Mulder")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api.api_url,
        "SLACK_SLOW_TURN_S": "0",
        "HANDOFF_SALES_CHANNEL": "CSALES",
        "HANDOFF_SUPPORT_CHANNEL": "CSUPPORT",
        "HANDOFF_SALES_HOURS": "Mon-Sun 00:00-00:00",
        "HANDOFF_SUPPORT_HOURS": "Mon-Sun 00:00-00:00",
        "HANDOFF_SALES_HOLIDAYS": "",
        "HANDOFF_SUPPORT_HOLIDAYS": "",
        # the load test's people all connect from 127.0.0.1 and type fast: not abuse here
        "WIDGET_RATE_PER_IP": "100000",
        "WIDGET_CONNECTS_PER_IP": "100000",
        "WIDGET_RATE_PER_VISITOR": "100000",
    }
    stack = ProdStack(
        data_dir=tmp_path_factory.mktemp("replicas"),
        billing_db=billing_url,
        tracker_db=tracker_url,
        gateway_db=gateway_url,
        prefix=f"e2e{uuid.uuid4().hex[:8]}",
        extra_env=env,
    )
    try:
        with stack:
            db = Database.connect(billing_url)
            yield stack, api, db
            db.dispose()
    finally:
        api.stop()
        for d in dbs:
            next(d, None)


class Tab:
    """A widget tab on one gateway (a replica's own port, or the balancer's)."""

    def __init__(
        self, stack: ProdStack, gateway_url: str, email: str | None = None, visitor: str | None = None
    ) -> None:
        self.ws: ClientConnection = connect(
            gateway_url.replace("http://", "ws://") + "/widget/ws", origin=stack.gateway_url, open_timeout=15
        )  # the page's origin
        token = (
            jwt.encode(
                {
                    "email": email,
                    "aud": "account-assistant",
                    "iss": "https://vendor.example",
                    "exp": int(time.time()) + 3600,
                },
                stack.secrets["WIDGET_JWT_SECRET"],
                algorithm="HS256",
            )
            if email
            else None
        )
        self.ws.send(json.dumps({"type": "hello", "visitor": visitor, "jwt": token, "since": 0}))
        self.welcome = self.next("welcome", 15)

    def next(self, kind: str, timeout: float = TURN_S, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def send(self, text: str) -> None:
        self.ws.send(json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": text}))

    def say(self, text: str) -> str:
        self.send(text)
        said: list[str] = []
        deadline = time.monotonic() + TURN_S
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            if frame.get("type") == "msg" and frame.get("from") == "bot":
                said.append(frame.get("text") or "")
            elif frame.get("type") == "typing" and frame.get("on") is False and said:
                return "\n".join(said)

    def close(self) -> None:
        self.ws.close()


def test_a_visitor_on_gateway_1_sees_what_gateway_2_produced(prod):
    stack, _api, _db = prod
    g1, g2 = stack.replica_url("gateway", 0), stack.replica_url("gateway", 1)
    on_1 = Tab(stack, g1)
    try:
        assert "$" in on_1.say("how much is Enterprise for 40 users?")
        sender = "wv-" + on_1.welcome["visitor"].split(".")[1]
        pushed = httpx.post(
            g2 + "/widget/internal/push",
            json={"conversation_id": sender, "text": "Hello from Dana", "name": "Dana (Sales)"},
            headers={"Authorization": f"Bearer {stack.gateway_token}"},
            timeout=10,
            trust_env=False,
        )
        assert pushed.status_code == 200, pushed.text
        assert on_1.next("msg", FAST_S, **{"from": "agent"})["text"] == "Hello from Dana"
        on_2 = Tab(stack, g2, visitor=on_1.welcome["visitor"])  # the same visitor's second tab, on gateway 2
        try:
            on_2.send("how much is Dialer?")
            assert on_1.next("msg", FAST_S, **{"from": "user"})["text"] == "how much is Dialer?"
            assert "Dialer" in on_1.next("msg", TURN_S, **{"from": "bot"})["text"]  # Rasa's answer, taken on 2
        finally:
            on_2.close()
    finally:
        on_1.close()


def test_rasa_and_the_gateways_log_in_to_redis_as_the_stacks_own_user(prod):
    """Production's Redis AUTH on this machine's open Redis (bot/launch/redis_account.py); after the turns
    above, Rasa's lock store has used its connection too."""
    import redis

    stack, _api, _db = prod
    assert stack.redis.temporary and stack.redis.password
    admin = redis.Redis.from_url(stack.redis_url, socket_timeout=5, decode_responses=True)
    try:
        clients = admin.client_list()
    finally:
        admin.close()
    fanout = [c for c in clients if c.get("name", "").startswith(f"{stack.prefix}:widget:")]
    assert len(fanout) >= 2 and {c["user"] for c in fanout} == {stack.redis.username}, fanout
    assert any(c["user"] == stack.redis.username and not c.get("name") for c in clients), (
        "no unnamed connection (Rasa's lock store) logged in as the stack's user"
    )


def test_two_reps_claiming_one_handoff_through_different_gateways_get_one_winner(prod):
    stack, api, _db = prod
    g1, g2 = stack.replica_url("gateway", 0), stack.replica_url("gateway", 1)
    customer = Tab(stack, g1, email="alex@acme.example")
    try:
        asked = customer.say("I need to talk to a real person")
        number = re.search(r"HO-\d+", asked)
        assert number, asked
        post = api.wait_for(
            "chat.postMessage",
            timeout=TURN_S,
            where=lambda c: number.group() in (c.args.get("text") or "") and not c.args.get("thread_ts"),
        )[-1]
        blocks = post.args.get("blocks")
        message = {
            "ts": post.ts,
            "text": post.args.get("text"),
            "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks,
        }
        channel = post.args["channel"]
        senders = {"UDANA": SlackSender(g1, SECRET), "UFOX": SlackSender(g2, SECRET)}
        start, answers = threading.Barrier(2), {}

        def claim(rep: str) -> None:
            start.wait()
            answers[rep] = senders[rep].click(rep, channel, message, "Claim").status_code

        threads = [threading.Thread(target=claim, args=(rep,)) for rep in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert answers == {"UDANA": 200, "UFOX": 200}
        told = api.wait_for("chat.postEphemeral", timeout=15)
        assert len(told) == 1, [c.args for c in told]
        loser = told[0].args["user"]
        winner = next(rep for rep in senders if rep != loser)
        assert told[0].args["text"] == f"Already claimed by <@{winner}>."
        joined = customer.next("msg", FAST_S, **{"from": "agent"})
        assert "joined" in joined["text"] and ("Dana" if winner == "UDANA" else "Fox") in joined["text"], joined
        engine = create_engine(stack.gateway_db)
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    text("SELECT status, claimed_by FROM gateway_handoffs WHERE number = :n"), {"n": number.group()}
                ).one()
        finally:
            engine.dispose()
        assert tuple(row) == ("claimed", winner)
        with pytest.raises(TimeoutError):  # and no second "joined"
            customer.next("msg", 2.0, **{"from": "agent"})
    finally:
        customer.close()


class Turns:
    """A conversation through the balancer's Rasa pool, each turn on a new connection, so turns
    go round robin over the Rasa servers (as many gateways' connections do)."""

    def __init__(self, stack: ProdStack, email: str) -> None:
        self.stack, self.sender = stack, f"e2e-replicas-{uuid.uuid4().hex[:8]}"
        self.metadata = {"channel": "test", "identity": {"email": email}}
        self.last: list[dict[str, Any]] = []

    def say(self, message: str) -> str:
        answer = httpx.post(
            self.stack.webhook_url,
            json={"sender": self.sender, "message": message, "metadata": self.metadata},
            headers={"Authorization": f"Bearer {self.stack.gateway_token}", "Connection": "close"},
            timeout=TURN_S,
            trust_env=False,
        )
        answer.raise_for_status()
        self.last = answer.json()
        return "\n".join(m.get("text") or "" for m in self.last)

    def press(self, title: str) -> str:
        for m in self.last:
            for button in m.get("buttons") or []:
                if title.lower() in button["title"].lower():
                    return self.say(button["payload"])
        raise AssertionError(f"no button {title!r} in {self.last}")


def test_customers_under_load_get_every_order_once_and_every_message_recorded(prod):
    """make bench's load, small (tests/bench/production.py): signed-in admins, a colleague without
    Manage Billing and visitors chat at once through the balancer, mixing golden conversations 1,
    2, 4, 5, 6 and 7 with every answer checked; afterwards billing holds exactly the orders they
    were told about and the tracker store exactly the messages they sent, in order."""
    stack, _api, db = prod
    admins = add_customers(stack.billing_db, 5, first=71)
    mint = Jwts(GatewaySettings(widget_jwt_secret=stack.secrets["WIDGET_JWT_SECRET"])).mint
    people = people_for(admins, [admins[0].replace("alex@", "sam@")], 2, mint)
    payments, orders, mails = count(db, Payment), count(db, Order), outbox_mails(stack.data_dir)
    ledger = Ledger()
    sender_of = VisitorIds(stack.secrets["WIDGET_SIGNING_KEY"]).user_sender
    asyncio.run(
        simulate(stack.gateway_url, people, seconds=20, think_s=(0.5, 2.0), seed=3, ledger=ledger, sender_of=sender_of)
    )
    print(
        f"{len(ledger.ms)} turns, {sum(ledger.orders.values())} orders, {ledger.emailed} mails, "
        f"{ledger.clarified} 'did you mean' confirmed"
    )
    assert ledger.errors == []
    assert len(ledger.ms) >= 20 and sum(ledger.orders.values()) >= 1
    assert check_billing(stack.billing_db, ledger, admins, payments, orders) == []
    assert check_trackers(stack.tracker_db, ledger) == []
    assert outbox_mails(stack.data_dir) - mails == ledger.emailed


def test_killing_a_rasa_replica_mid_conversation_the_other_carries_it_on(prod):
    stack, _api, db = prod
    before = count(db, Order)
    alex = Turns(stack, "alex@acme.example")
    alex.say("add licenses")
    quote = alex.say("5")  # two turns: one on each Rasa server
    assert "$165.00" in quote, quote
    rasa_1 = stack.service("rasa-1")
    os.killpg(rasa_1.process.pid, signal.SIGKILL)
    rasa_1.process.wait(timeout=10)
    started = time.monotonic()
    done = alex.press("Yes")  # rasa-1 refuses the connection: the balancer hands it to rasa-2
    took = time.monotonic() - started
    assert re.search(r"ORD-\d+", done), done
    assert "INV-" in alex.say("send me last invoice")  # and the conversation goes on there
    assert count(db, Order) == before + 1 and quantity(db, "Acme Corp", "enterprise") == 45
    engine = create_engine(stack.tracker_db)
    try:
        with engine.connect() as conn:
            said = (
                conn.execute(
                    text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
                    {"s": alex.sender},
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert [json.loads(d)["text"] for d in said][0] == "add licenses" and len(said) == 4, (
        said
    )  # add, 5, Yes, last invoice
    print(f"turn after the kill: {took * 1000:.0f} ms")
