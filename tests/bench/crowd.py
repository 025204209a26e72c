"""Simulated customers for the load benchmark (tests/bench/production.py): each one chats through
the gateway's widget WebSocket, as a browser tab does, and thinks between messages.

A customer is one of three kinds, fixed for the run:
* an **admin** of an organisation of their own (a clone of Acme, tests/bench/databases.py), who
  runs the golden conversations that need no person: 1 (add licenses: the edition's seats quoted, Yes ->
  order), 2 (last invoice, then "email it to ..."), 6 (the weather), 7 (a card number), and a
  balance question;
* a **colleague without Manage Billing** in such an organisation: golden 5 ("pay my open invoice"
  is refused, nothing changes);
* an anonymous **visitor**: golden 4's pricing question (the estimate comes from billing) and 6.
Golden 3 and the rest of 4 hand the customer to a person (Slack): they are not in the load mix.

Every turn's answer is checked (the quote names the quantity and the unit price, the order has an
ORD- number, ...); a wrong or missing answer is an error, not a turn. What the customers were told
is kept (``Ledger``) so the caller can check the databases afterwards: every order applied exactly
once, every user message in the tracker exactly once, in order.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.widget_client import WidgetClient

TURN_TIMEOUT_S = 30.0
CARD = "4242 4242 4242 4242"


class WrongAnswer(Exception):
    pass


class NotTaken(WrongAnswer):
    """The gateway refused the message before taking it (an error frame before the echo)."""


@dataclass
class Reply:
    messages: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("text") or "") for m in self.messages)

    def button(self, title: str) -> dict[str, Any]:
        """The button with this title, or else the first whose title starts with it."""
        found = [b for m in self.messages for b in m.get("buttons") or []]
        for b in sorted(found, key=lambda b: b.get("title", "").lower() != title.lower()):
            if b.get("title", "").lower().startswith(title.lower()):
                return b
        raise WrongAnswer(f"no {title!r} button in {self.text[:200]!r}")

    def expect(self, pattern: str, what: str) -> re.Match:
        found = re.search(pattern, self.text, re.IGNORECASE)
        if not found:
            raise WrongAnswer(f"{what}: expected /{pattern}/ in {self.text[:240]!r}")
        return found


@dataclass
class Ledger:
    """What happened, from the customers' side."""

    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ordered: Counter = field(default_factory=Counter)  # admin email -> licences the bot confirmed
    orders: Counter = field(default_factory=Counter)  # admin email -> confirmed orders
    emailed: int = 0
    clarified: int = 0  # times the bot asked "did you mean ...?" and the customer said yes
    said: dict[str, list[tuple[str, str | None]]] = field(default_factory=lambda: defaultdict(list))  # sender -> sent
    wall_s: float = 0.0

    @property
    def per_s(self) -> float:
        return len(self.ms) / self.wall_s if self.wall_s else 0.0


class WidgetChat:
    """One browser tab (tests/e2e/widget_client.py): ``turn`` answers with the bot's messages, or
    raises ``NotTaken`` (refused before the gateway took it) or ``WrongAnswer``."""

    def __init__(self, base_url: str, jwt: str | None) -> None:
        self.client = WidgetClient(base_url, jwt, turn_timeout=TURN_TIMEOUT_S)
        self.sender = ""

    async def __aenter__(self) -> WidgetChat:
        await self.client.__aenter__()
        token = self.client.welcome.get("visitor") or ""
        self.sender = f"wv-{token.split('.')[1]}" if token.count(".") == 2 else ""
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.__aexit__(*exc)

    async def turn(self, text: str, payload: str | None = None) -> Reply:
        await self.client.say(text, payload)
        if (error := self.client.error) is not None:
            refused = WrongAnswer if self.client.echoed else NotTaken
            raise refused(f"error frame: {error.get('code')}: {error.get('message')}")
        return Reply(list(self.client.frames))


Think = Callable[[], Awaitable[None]]


class Customer:
    """Says things and checks the answers; times each turn; thinks before each message."""

    def __init__(self, chat: Any, ledger: Ledger, think: Think, key: str) -> None:
        self.chat, self.ledger, self.think, self.key = chat, ledger, think, key

    async def say(self, text: str, payload: str | None = None) -> Reply:
        await self.think()
        self.ledger.said[self.key].append((text, payload))
        started = time.perf_counter()
        try:
            reply = await self.chat.turn(text, payload)
        except NotTaken:
            self.ledger.said[self.key].pop()  # never reached Rasa: not expected in its tracker
            raise
        self.ledger.ms.append((time.perf_counter() - started) * 1000)
        return reply

    async def press(self, reply: Reply, title: str) -> Reply:
        button = reply.button(title)
        return await self.say(button["title"], button.get("payload"))

    async def confirm_guess(self, reply: Reply) -> Reply:
        """A request the bot was not sure of ("did you mean to ...?", bot/nlu/guard.py) is
        confirmed with a typed "yes", which takes its first suggestion (issue 18: the suggestions
        are two or three buttons, none titled "Yes")."""
        if "did you mean" not in reply.text.lower():
            return reply
        self.ledger.clarified += 1
        return await self.say("yes")


# ---- the golden conversations ----------------------------------------------------------------------


async def order_licenses(c: Customer, rng: random.Random, email: str) -> None:  # golden 1
    n = rng.randint(2, 9)
    reply = await c.say(f"add {n} licenses")
    if "which" in reply.text.lower():
        reply = await c.press(reply, "Enterprise")
    reply.expect(rf"\b{n}\b[\s\S]*\$165\.00|\$165\.00[\s\S]*\b{n}\b", "the quote")
    done = await c.press(reply, "Yes")
    done.expect(r"ORD-\d+", "the order")
    c.ledger.ordered[email] += n
    c.ledger.orders[email] += 1


async def last_invoice(c: Customer, rng: random.Random, email: str) -> None:  # golden 2
    (await c.say("send me last invoice")).expect(r"INV-\d+", "the latest invoice")
    to = f"ap@{email.split('@')[1]}"
    reply = await c.confirm_guess(await c.say(f"email it to {to}"))
    if to not in reply.text:  # confirmed from a guess: the address is asked for again
        reply = await c.say(to)
    reply.expect(re.escape(to), "the invoice sent")
    c.ledger.emailed += 1


async def balance(c: Customer, rng: random.Random, email: str) -> None:
    (await c.say("what's my balance?")).expect(r"INV-\d+|\$[\d,]+\.\d\d", "the balance")


async def weather(c: Customer, rng: random.Random, email: str) -> None:  # golden 6
    (await c.say("what's the weather like tomorrow")).expect(r"help|invoice|licen", "the polite refusal")


async def card_number(c: Customer, rng: random.Random, email: str) -> None:  # golden 7
    reply = await c.say(f"here is my new card {CARD} exp 08/29")
    reply.expect(r"/pay/card/", "the secure link")
    if "4242 4242" in reply.text or CARD.replace(" ", "") in reply.text:
        raise WrongAnswer("the card number was echoed")


async def pay_refused(c: Customer, rng: random.Random, email: str) -> None:  # golden 5
    (await c.say("pay my open invoice")).expect(r"Manage Billing", "the refusal")


async def pricing(c: Customer, rng: random.Random, email: str) -> None:  # golden 4, its first half
    (await c.say("how much is Enterprise for 40 users?")).expect(r"\$6,600\.00", "the estimate")


Script = Callable[[Customer, random.Random, str], Awaitable[None]]
ADMIN_MIX: list[tuple[Script, int]] = [
    (order_licenses, 4),
    (last_invoice, 2),
    (balance, 2),
    (weather, 1),
    (card_number, 1),
]
COLLEAGUE_MIX: list[tuple[Script, int]] = [(pay_refused, 3), (weather, 1)]
VISITOR_MIX: list[tuple[Script, int]] = [(pricing, 3), (weather, 1)]


@dataclass
class Person:
    kind: str  # admin | colleague | visitor
    email: str | None  # None for a visitor
    jwt: str | None


async def simulate(
    base_url: str,
    people: list[Person],
    *,
    seconds: float,
    think_s: tuple[float, float],
    seed: int,
    ledger: Ledger,
    sender_of: Callable[[str], str],
) -> None:
    """Every person chats until ``seconds`` have passed (a conversation under way is finished)."""
    deadline = time.monotonic() + seconds

    async def one(i: int, person: Person) -> None:
        rng = random.Random(seed * 1000 + i)

        async def think() -> None:
            if think_s[1] > 0:
                await asyncio.sleep(rng.uniform(*think_s))

        mix = {"admin": ADMIN_MIX, "colleague": COLLEAGUE_MIX, "visitor": VISITOR_MIX}[person.kind]
        scripts, weights = zip(*mix)
        await asyncio.sleep(rng.uniform(0, think_s[1]))  # people do not all arrive at once
        try:
            async with WidgetChat(base_url, person.jwt) as chat:
                key = sender_of(person.email) if person.email else chat.sender
                customer = Customer(chat, ledger, think, key)
                while time.monotonic() < deadline:
                    script = rng.choices(scripts, weights)[0]
                    try:
                        await script(customer, rng, person.email or "")
                    except WrongAnswer as problem:
                        ledger.errors.append(f"{person.kind} {script.__name__}: {problem}")
                        return  # the conversation's state is unknown now: this customer leaves
        except (OSError, asyncio.TimeoutError, WrongAnswer) as exc:
            ledger.errors.append(f"{person.kind}: {exc.__class__.__name__}: {exc}")
        except Exception as exc:
            ledger.errors.append(f"{person.kind}: {exc.__class__.__name__}: {exc}")

    started = time.perf_counter()
    await asyncio.gather(*(one(i, p) for i, p in enumerate(people)))
    ledger.wall_s = time.perf_counter() - started


def people_for(admins: list[str], colleagues: list[str], visitors: int, mint: Callable[[str], str]) -> list[Person]:
    return (
        [Person("admin", e, mint(e)) for e in admins]
        + [Person("colleague", e, mint(e)) for e in colleagues]
        + [Person("visitor", None, None) for _ in range(visitors)]
    )
