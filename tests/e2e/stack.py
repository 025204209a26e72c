"""The real stack for end-to-end and security tests: the Rasa server (trained model), action server,
billing backend and gateway, over HTTP through the gateway's channel, with the billing database
reset before each test. tests/conftest.py registers these fixtures once for the whole session, so
tests/e2e and tests/security run against one stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from bot.billing.adapters.db import Database
from bot.launch.runner import MODEL, Stack

EMAILS = {
    "alex": "alex@acme.example",
    "priya": "priya@acme.example",
    "sam": "sam@acme.example",
    "olivia": "olivia@bluebird.example",
    "tom": "tom@bluebird.example",
}


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does)", pytrace=False)
    # JSON log lines, as in production (tests/e2e/test_operations.py follows a turn through them)
    with Stack(data_dir=tmp_path_factory.mktemp("stack"), extra_env={"LOG_FORMAT": "json"}) as running:
        yield running


@pytest.fixture(scope="session")
def billing_db(stack) -> Iterator[Database]:
    db = Database.connect(stack.env()["DATABASE_URL"])
    yield db
    db.dispose()


class Conversation:
    """One user's conversation: ``say`` returns the bot's messages; ``texts`` joins their text."""

    def __init__(self, stack: Stack, who: str | None, channel: str = "test") -> None:
        self.url = stack.webhook_url
        self.sender = f"e2e-{who or 'visitor'}-{uuid.uuid4().hex[:8]}"
        self.metadata = {"channel": channel, **({"identity": {"email": EMAILS[who]}} if who else {})}
        self.client = httpx.Client(headers={"Authorization": f"Bearer {stack.gateway_token}"}, timeout=30)
        self.last: list[dict] = []

    def say(self, text: str) -> list[dict]:
        reply = self.client.post(self.url, json={"sender": self.sender, "message": text, "metadata": self.metadata})
        reply.raise_for_status()
        self.last = reply.json()
        return self.last

    def text(self, text: str) -> str:
        return "\n".join(m.get("text") or "" for m in self.say(text))

    def press(self, title: str) -> str:
        """Press the button whose title contains ``title`` in the last reply."""
        for message in self.last:
            for button in message.get("buttons") or []:
                if title.lower() in button["title"].lower():
                    return self.text(button["payload"])
        raise AssertionError(f"no button {title!r} in {self.last}")

    def buttons(self) -> list[str]:
        return [b["title"] for m in self.last for b in (m.get("buttons") or [])]


@pytest.fixture
def chat(stack, billing_db):
    from tests.conftest import reset  # tests/conftest.py imports this module

    reset(billing_db)
    opened: list[Conversation] = []

    def start(who: str | None = "alex", channel: str = "test") -> Conversation:
        conversation = Conversation(stack, who, channel)
        opened.append(conversation)
        return conversation

    yield start
    for conversation in opened:
        conversation.client.close()
