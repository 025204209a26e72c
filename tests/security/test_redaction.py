"""Issue 17, items 4 and 5: a card number never survives, however its digit groups are joined.

The review stored cards whose groups were joined by ``_`` or ``,`` in the widget's history and in
Rasa's tracker store, and Slack's ``/account`` echoed a pasted card into the DM. Here:

- a property test: at least 10,000 generated Luhn-valid numbers of real brands, in random
  groupings, with any separator character (punctuation, symbols, space-like, format, combining
  marks, repeated or mixed), in any script's digits and inside chat text; none may survive
  ``redact`` (``card_texts.survivors`` reads the output the blunt way);
- what must stay: invoice numbers, phone numbers, dates (and date ranges), amounts, quantities,
  12-digit references;
- end to end, through the session's real stack: the widget (history rows, Rasa's tracker store,
  logs), Slack's ``/account`` echo and DMs (a gateway of its own against the Slack mock, signed
  requests), and a live handoff (the summary, the thread, Rasa's record of the paused
  conversation, the rep's words in the widget);
- billing's service layer: what it stores from free text (support cases, handoffs, callbacks,
  billing details, invoice notes) and what its errors repeat.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text

from bot.billing.adapters.orm import AuditEntry, BillingProfile, CallbackRequest, Handoff, SupportCase, User
from bot.billing.config import get_settings
from bot.billing.domain.errors import Invalid
from bot.billing.services import handoffs, invoices, profile, support
from bot.billing.services.access import Actor
from bot.billing.services.numbering import by_number
from bot.nlu.cards import redact
from tests.conftest import reset
from tests.e2e.gateways import SlackGateway, slack_gateway
from tests.e2e.widget_client import WidgetClient, signed_in
from tests.security import card_texts as ct
from tests.slack_mock import Call, new_ts

# -- the redactor itself: generated cards ---------------------------------------------------------------

EXAMPLES = 10_000


@st.composite
def card(draw: st.DrawFn) -> str:
    brand = draw(st.sampled_from(ct.BRANDS))
    prefix = brand.prefix(draw(st.integers(0, 10**6)))
    free = draw(st.sampled_from(brand.lengths)) - len(prefix) - 1
    return ct.luhn_complete(prefix + str(draw(st.integers(0, 10**free - 1))).zfill(free))


@st.composite
def grouping(draw: st.DrawFn, digits: str) -> list[str]:
    if draw(st.booleans()):
        size = draw(st.sampled_from((2, 3, 4, 5, 6)))
        cuts = list(range(size, len(digits), size))
    else:  # any subset of the places between two digits, as the bits of one number
        places = draw(st.integers(0, 2 ** (len(digits) - 1) - 1))
        cuts = [i for i in range(1, len(digits)) if places >> (i - 1) & 1]
    return [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]


@cache
def separator_char() -> st.SearchStrategy[str]:
    classes = ct.separator_chars()
    return st.one_of(st.sampled_from(ct.COMMON_SEPARATORS), *(st.sampled_from(chars) for chars in classes.values()))


@st.composite
def separator(draw: st.DrawFn) -> str:
    size = draw(st.integers(1, ct.MAX_GAP))
    if draw(st.booleans()):
        return draw(separator_char()) * size  # repeated
    return "".join(draw(st.lists(separator_char(), min_size=size, max_size=size)))  # mixed


@st.composite
def written_card(draw: st.DrawFn) -> tuple[str, str]:
    """(the card as written, its ASCII digits)."""
    digits = draw(card())
    groups = draw(grouping(digits))
    zeros = st.sampled_from(ct.digit_zeros())
    if draw(st.integers(0, 9)) == 0:  # each group in a script of its own
        groups = [ct.in_script(g, draw(zeros)) for g in groups]
    else:
        zero = draw(st.one_of(st.just(0x30), zeros))
        groups = [ct.in_script(g, zero) for g in groups]
    same = draw(st.one_of(st.none(), separator()))
    written = groups[0]
    for group in groups[1:]:
        written += (same if same is not None else draw(separator())) + group
    return written, digits


@st.composite
def message(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Chat text around one to three cards."""
    cards = draw(st.lists(written_card(), min_size=1, max_size=3))
    between = st.one_of(st.sampled_from((" and ", ", ", " ", "\n")), separator())
    body = cards[0][0]
    for written, _ in cards[1:]:
        body += draw(between) + written
    noise = st.text(st.characters(exclude_categories=("Nd", "Cs")), max_size=12)  # no digits
    glue = st.one_of(st.sampled_from(("", " ")), separator())
    text = (
        draw(noise)
        + draw(st.sampled_from(ct.BEFORE))
        + draw(glue)
        + body
        + draw(glue)
        + draw(st.sampled_from(ct.AFTER))
        + draw(noise)
    )
    return text, [digits for _, digits in cards]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(message())
def test_no_generated_card_survives_redaction(generated):
    text, cards = generated
    assert all(ct.luhn_valid(c) and 13 <= len(c) <= 19 for c in cards)
    redacted, count = redact(text)
    assert ct.survivors(redacted) == [], (text, redacted)
    assert count >= 1


def test_the_seeded_generator_and_the_oracle_agree_with_each_other():
    """The bench's generator writes cards the oracle finds before redaction (else it proves nothing)."""
    import random

    rng = random.Random(17)
    for _ in range(500):
        text, cards = ct.random_text(rng)
        assert all(c in ct.survivors(text) for c in cards), text


@pytest.mark.parametrize(
    "written",
    [
        "4242_4242_4242_4242",
        "4242,4242,4242,4242",
        "4242, 4242, 4242, 4242",
        "4242 , 4242 , 4242 , 4242",
        "4242__4242__4242__4242",
        "4242;4242;4242;4242",
        "4242:4242:4242:4242",
        "4242|4242|4242|4242",
        "4242*4242*4242*4242",
        "4242+4242+4242+4242",
        "4242~4242~4242~4242",
        "4242'4242'4242'4242",
        "(4242)(4242)(4242)(4242)",
        "[4242] [4242] [4242] [4242]",
        "4242•4242•4242•4242",
        "4242·4242·4242·4242",
        "4242\u30014242\u30014242\u30014242",
        "4242\u3000\u3000\u30004242\u30004242\u30004242",
        "4242\u20284242\u20294242\u00854242",
        "4242\r\n4242\r\n4242\r\n4242",
        "4242\t\t\t\t\t4242\t4242\t4242",
        "4242        4242 4242 4242",
        "4242\u180e4242\u180e4242\u180e4242",
        "4242\u034f4242\u034f4242\u034f4242",
        "4\u03322\u03324\u03322\u0332 4\u03322\u03324\u03322\u0332 4242 4242",
        "4242\U000e00204242\U000e00204242\U000e00204242",
        "4242🙂4242🙂4242🙂4242",
        "4242\u20ac4242\u20ac4242\u20ac4242",
        "4242\ue0004242\ue0004242\ue0004242",
        "٤٢٤٢_٤٢٤٢_٤٢٤٢_٤٢٤٢",
        "४२४२,४२४२,४२४२,४२४२",
        "４２４２＿４２４２＿４２４２＿４２４２",
        "𝟒𝟐𝟒𝟐-𝟒𝟐𝟒𝟐-𝟒𝟐𝟒𝟐-𝟒𝟐𝟒𝟐",
        "3782_822463_10005",
        "5555,5555,5555,4444",
        "6011‐1111‐1111‐1117",
    ],
)
def test_the_reviews_separators_and_their_neighbours_are_redacted(written):
    redacted, count = redact(f"pay INV-1042 with card {written} thanks")
    assert ct.survivors(redacted) == [] and count == 1, redacted
    assert redacted.startswith("pay INV-1042 with card ") and redacted.endswith(" thanks"), redacted


@pytest.mark.parametrize(
    "kept",
    [
        "INV-1042",
        "pay INV-1041, INV-1042 and INV-1043",
        "call 1-800-667-6389",
        "call 1_800_667_6389",
        "+1 415 555 0134",
        "add 5 licenses",
        "1,200 users",
        "$1,234,567.89",
        "€ 12.345,67",
        "invoices from 2025",
        "exp 12/27 cvv 123",
        "ref 123456789012",
        "ref 1234_5678_9012",
        "orders 1041, 1042, 1043",
        "invoices from 2025-01-01 to 2025-12-31",
        "invoices 2025-01-01 - 2025-12-31",
        "invoices 2025-01-01, 2025-12-31",
        "between 01/01/2025, 31/12/2025",
        "from 2024_01_01 until 2024_03_31",
        "on 2025.06.30",
        "2,000 seats, 40 users",
    ],
)
def test_what_is_not_a_card_is_kept(kept):
    assert redact(kept) == (kept, 0)


def test_log_lines_hold_no_card():
    """What each process installs at start (``redact_logs``): a line quoting someone's input, or an
    exception repeating it, is written without the card."""
    import io
    import logging

    from bot.nlu.cards import redact_logs

    before = logging.getLogRecordFactory()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.security.redaction")
    logger.addHandler(handler)
    try:
        redact_logs()
        redact_logs()  # twice is once
        logger.warning("refused %r from %s", "pay with 4242_4242_4242_4242", "U1")
        try:
            raise ValueError("bad phone 5555,5555,5555,4444")
        except ValueError:
            logger.exception("request failed")
        logger.warning("kept: INV-1042 or call 1-800-667-6389 for %d licenses", 5)
    finally:
        logging.setLogRecordFactory(before)
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "refused 'pay with CARDNUMBER' from U1" in written and "ValueError: bad phone CARDNUMBER" in written
    assert "kept: INV-1042 or call 1-800-667-6389 for 5 licenses" in written
    no_card(written)


# -- billing's service layer: the system of record holds no card, whoever called it ---------------------

CARDS = ("4242_4242_4242_4242", "5555,5555,5555,4444", "3782 822463 10005", "4000\u200b0566\u200b5566\u200b5556")
SENT = ("4242424242424242", "5555555555554444", "378282246310005", "4000056655665556")  # their digits


def strings(value: Any) -> Iterator[str]:
    """Every string in ``value``, JSON documents (a stored row, Slack blocks) read as JSON first, so an
    escaped separator (``\\u00b7``) does not hide the digits around it."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value[:1] in '[{"' else None
        except ValueError:
            parsed = None
        if parsed is None:
            yield value
        else:
            yield from strings(parsed)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def no_card(*values: Any, cards: tuple[str, ...] = SENT) -> None:
    """None of ``cards`` is in any string of ``values``, whatever stands between its digits."""
    for value in values:
        for string in strings(value):
            digits = "".join(
                str(d) if (d := unicodedata.decimal(ch, None)) is not None else ("|" if ch.isalnum() else "")
                for ch in string
            )
            assert not any(card in digits for card in cards), string[:500]


def test_billing_stores_no_card_from_free_text(db):
    alex = Actor("alex@acme.example", channel="widget")
    with db.session(write=True) as s:
        case = support.open_case(s, alex, f"Card {CARDS[0]} declined", f"I tried {CARDS[1]} and {CARDS[2]}")
        handoff = handoffs.request_handoff(
            s,
            alex,
            queue="support",
            reason=f"payment with {CARDS[3]} failed",
            intent="pay_invoice",
            transcript=[{"from": "user", "text": f"my card is {CARDS[0]}"}, {"from": "bot", "text": "Use the link."}],
            page_url=f"https://vendor.example/pay?card={CARDS[1]}",
            conversation_id="wv-redaction-test",
        )
        visitor = handoffs.request_handoff(
            s,
            Actor(None, channel="widget"),
            queue="sales",
            reason="pricing",
            lead={"name": f"Jo {CARDS[2]}", "email": "jo@example.com", "company": f"Acme {CARDS[0]}"},
            conversation_id="wv-redaction-visitor",
        )
        start = datetime.now(timezone.utc) + timedelta(days=1)
        callback = handoffs.request_callback(
            s,
            alex,
            queue="support",
            name=f"Alex {CARDS[1]}",
            phone="+1 415 555 0134",
            window_start=start,
            window_end=start + timedelta(hours=2),
            timezone_name="America/New_York",
            note=f"card {CARDS[3]}",
        )
        profile.update_profile(
            s,
            alex,
            {
                "address_line1": f"1 Main St {CARDS[0]}",
                "address_line2": CARDS[1],
                "city": "Springfield",
                "contact_name": f"Alex {CARDS[2]}",
            },
        )
        profile.update_contact(s, alex, name=f"Alex {CARDS[3]}")
        numbers = case.number, handoff.number, visitor.number, callback.number
    with db.session() as s:
        case = by_number(s, SupportCase, numbers[0])
        assert "CARDNUMBER" in case.subject + case.description  # redacted, not refused: the case is opened
        no_card(case.subject, case.description)
        for h in (by_number(s, Handoff, numbers[1]), by_number(s, Handoff, numbers[2])):
            assert "CARDNUMBER" in h.reason + json.dumps(h.transcript) + (h.lead_name or "")
            no_card(h.reason, h.transcript, h.page_url, h.lead_name, h.lead_company)
        cb = by_number(s, CallbackRequest, numbers[3])
        no_card(cb.name, cb.note)
        billing = s.scalar(
            select(BillingProfile)
            .join(User, User.org_id == BillingProfile.org_id)
            .where(User.email == "alex@acme.example")
        )
        no_card(billing.address_line1, billing.address_line2, billing.contact_name)
        no_card(s.scalar(select(User).where(User.email == "alex@acme.example")).name)
        no_card([(a.before, a.after) for a in s.scalars(select(AuditEntry))])


def test_an_invoice_shared_with_a_note_mails_no_card(db, smtp_server, monkeypatch):
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{smtp_server.port}")
    with db.session(write=True) as s:
        invoices.share_invoice(
            s,
            Actor("alex@acme.example", channel="widget"),
            "INV-1042",
            ["ap@acme.example"],
            note=f"paid with {CARDS[0]}, or try {CARDS[1]}",
        )
    ((_, _, mail),) = smtp_server.messages
    body = mail.get_body(("plain",)).get_content()
    assert "paid with" in body
    no_card(body, str(mail))


def test_billing_errors_do_not_repeat_a_card(db):
    with db.session(write=True) as s, pytest.raises(Invalid) as refused:
        profile.update_contact(s, Actor("alex@acme.example", channel="widget"), phone=CARDS[0])
    no_card(refused.value.message, refused.value.details)
    with db.session(write=True) as s, pytest.raises(Invalid) as refused:
        handoffs.request_handoff(
            s, Actor(None, channel="widget"), queue="sales", reason="pricing", lead={"name": "Jo", "email": CARDS[1]}
        )
    no_card(refused.value.message, refused.value.details)


# -- end to end: the widget -----------------------------------------------------------------------------


def stored_rows(url: str, query: str, **params: Any) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def tracker_rows(stack, sender: str) -> list[str]:
    with sqlite3.connect(stack.tracker_db, timeout=30) as db:
        return [r[0] for r in db.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))]


def logs_of(*paths: Any) -> Iterator[tuple[str, str]]:
    for path in paths:
        for log in path.glob("*.log") if path.is_dir() else [path]:
            yield log.name, log.read_text(errors="replace")


def test_cards_joined_by_underscores_or_commas_reach_neither_widget_history_nor_tracker(stack, billing_db):
    reset(billing_db)
    said = [
        "my card is 4242_4242_4242_4242 exp 12/29",
        "use 5555,5555,5555,4444 instead",
        "or 4000·0566·5566·5556",
        "3782 822463 10005",
    ]

    async def talk() -> tuple[str, list[list[str]]]:
        async with WidgetClient(stack.gateway_url, token=signed_in("alex@acme.example")) as widget:
            first = await widget.send(said[0])
            answers = [await widget.replies_to(first)] + [await widget.say(t) for t in said[1:]]
            return first, answers

    first, answers = asyncio.run(talk())
    gateway_db = stack.env()["GATEWAY_DATABASE_URL"]
    (sender,) = stored_rows(gateway_db, "SELECT sender FROM widget_messages WHERE body LIKE :m", m=f"%{first}%")
    rows = stored_rows(gateway_db, "SELECT body FROM widget_messages WHERE sender = :s", s=sender)
    assert len(rows) >= 2 * len(said)
    no_card(*rows)
    events = tracker_rows(stack, sender)
    assert any("CARDNUMBER" in e for e in events)
    no_card(*events)
    for name, log in logs_of(stack.data_dir / "logs"):
        assert "4242_4242" not in log and "5555,5555" not in log, name
        no_card(log)
    for answer in answers:
        joined = "\n".join(answer)
        assert "/pay/card/" in joined, joined  # understood as a card: the secure link, nothing else
        no_card(joined)


# -- end to end: Slack ------------------------------------------------------------------------------------

TURN_S = 45.0


@pytest.fixture(scope="module")
def slack(stack, tmp_path_factory) -> Iterator[SlackGateway]:
    """A gateway of its own with Slack on (the Web API mock) and the sales queue, open all week."""
    with slack_gateway(
        stack,
        tmp_path_factory.mktemp("redaction-gateway"),
        {"UALEX": ("alex@acme.example", "Alex Rivera"), "UDANA": ("dana@vendor.example", "Dana Scully")},
        SLACK_SLOW_TURN_S="30",
        HANDOFF_SALES_CHANNEL="CSALES",
        HANDOFF_SALES_HOURS="Mon-Sun 00:00-00:00",
    ) as gateway:
        yield gateway


def shown(call: Call) -> str:
    return (call.args.get("text") or "") + json.dumps(call.args.get("blocks"), ensure_ascii=False)


@pytest.mark.parametrize("written", ["4242 4242 4242 4242", "4242_4242_4242_4242", "4242,4242,4242,4242"])
def test_the_account_command_does_not_echo_a_card(slack, stack, written):
    slack.api.reset()
    acked = slack.send.command("UALEX", f"pay INV-1042 with card {written}")
    assert acked.status_code == 200
    no_card(acked.text)
    posts = slack.api.wait_for("chat.postMessage", 2, TURN_S, lambda c: c.args.get("channel") == "DUALEX")
    slack.api.quiet(1.0)
    echo = posts[0]
    assert "You asked" in shown(echo) and "INV-1042" in shown(echo) and "card number removed" in shown(echo)
    assert "/pay/card/" in "\n".join(shown(c) for c in slack.dm_posts("UALEX"))
    no_card(*(shown(c) for c in slack.api.calls))
    sender = next(iter({s for s in _tracker_senders(stack) if s.endswith(":UALEX")}))
    no_card(*tracker_rows(stack, sender))
    for name, log in logs_of(slack.gateway.log_path, stack.data_dir / "logs"):
        assert "4242_4242" not in log and "4242,4242" not in log, name
        no_card(log)


def _tracker_senders(stack) -> set[str]:
    with sqlite3.connect(stack.tracker_db, timeout=30) as db:
        return {r[0] for r in db.execute("SELECT DISTINCT sender_id FROM events WHERE sender_id LIKE 'slack:%'")}


def test_a_card_in_a_slack_dm_is_neither_stored_nor_shown(slack, stack):
    slack.api.reset()
    assert slack.send.event(slack.send.dm("UALEX", "new card 5555_5555_5555_4444 exp 01/30")).status_code == 200
    slack.api.wait_for("chat.postMessage", 1, TURN_S, lambda c: c.args.get("channel") == "DUALEX")
    slack.api.quiet(1.0)
    for sender in _tracker_senders(stack):
        no_card(*tracker_rows(stack, sender))
    no_card(*(shown(c) for c in slack.api.calls))
    for _name, log in logs_of(slack.gateway.log_path, stack.data_dir / "logs"):
        no_card(log)
    assert "/pay/card/" in "\n".join(shown(c) for c in slack.dm_posts("UALEX"))


# -- end to end: a live handoff -------------------------------------------------------------------------


def test_a_handoff_summary_thread_and_record_hold_no_card(slack, stack, billing_db):
    from websockets.sync.client import connect

    reset(billing_db)
    ws = connect(slack.url.replace("http://", "ws://") + "/widget/ws", origin=slack.url, open_timeout=10)

    def frame(kind: str, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TURN_S
        while True:
            got = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if got.get("type") == kind and all(got.get(k) == v for k, v in match.items()):
                return got

    try:
        ws.send(
            json.dumps(
                {
                    "type": "hello",
                    "visitor": None,
                    "since": 0,
                    "page_url": "https://vendor.example/pricing?ref=4242_4242_4242_4242",
                }
            )
        )
        sender = "wv-" + frame("welcome")["visitor"].split(".")[1]
        transcript = [
            {"from": "user", "text": "my card 4242_4242_4242_4242 fails"},
            {"from": "bot", "text": "I can't take card numbers here."},
        ]
        with billing_db.session(write=True) as s:
            number = handoffs.request_handoff(
                s,
                Actor(None, channel="widget"),
                queue="sales",
                reason="card 5555,5555,5555,4444 declined",
                lead={"name": "Jo Bloggs", "email": "jo@example.com", "company": "Example Inc"},
                transcript=transcript,
                conversation_id=sender,
            ).number
        notice = {
            "number": number,
            "conversation_id": sender,
            "queue": "sales",
            "channel": "widget",
            "reason": "card 5555,5555,5555,4444 declined",
            "page_url": "https://vendor.example/?c=4242_4242_4242_4242",
            "lead": {"name": "Jo Bloggs 4242,4242,4242,4242", "email": "jo@example.com", "company": "Example Inc"},
            "transcript": transcript,
        }
        opened = httpx.post(
            f"{slack.url}/handoff/internal/opened",
            json=notice,
            timeout=20,
            headers={"Authorization": f"Bearer {stack.gateway_token}"},
        )
        assert opened.status_code == 200 and opened.json()["posted"], opened.text
        post = slack.api.wait_for(
            "chat.postMessage",
            1,
            TURN_S,
            lambda c: c.args.get("channel") == "CSALES" and number in (c.args.get("text") or ""),
        )[-1]
        assert "Jo Bloggs" in shown(post)
        no_card(shown(post))

        message = {"ts": post.ts, "text": post.args.get("text"), "blocks": post.args.get("blocks")}
        assert slack.send.click("UDANA", "CSALES", message, "Claim").status_code == 200
        frame("msg", **{"from": "agent"})  # "Dana from Sales joined"
        ws.send(
            json.dumps(
                {
                    "type": "message",
                    "id": f"cid-{uuid.uuid4().hex[:12]}",
                    "text": "it is 4000_0566_5566_5556, or 5555,5555,5555,4444",
                }
            )
        )
        relayed = slack.api.wait_for(
            "chat.postMessage",
            1,
            TURN_S,
            lambda c: c.args.get("thread_ts") == post.ts and "Customer" in (c.args.get("text") or ""),
        )[-1]
        assert "card number removed" in shown(relayed)
        thread = {
            "type": "message",
            "channel": "CSALES",
            "channel_type": "channel",
            "user": "UDANA",
            "text": "did you mean 4242_4242_4242_4242?",
            "ts": new_ts(),
            "thread_ts": post.ts,
            "team": slack.send.team,
        }
        assert slack.send.event(thread).status_code == 200
        rep = frame("msg", **{"from": "agent"})
        assert rep["text"].startswith("did you mean") and "card number removed" in rep["text"], rep
        no_card(*(shown(c) for c in slack.api.calls))

        deadline = time.monotonic() + 15
        while not any("did you mean" in e for e in tracker_rows(stack, sender)) and time.monotonic() < deadline:
            time.sleep(0.2)
        events = tracker_rows(stack, sender)
        assert any("did you mean" in e for e in events) and any("CARDNUMBER" in e for e in events), events
        no_card(*events)
        history = stored_rows(
            slack.gateway.env["GATEWAY_DATABASE_URL"], "SELECT body FROM widget_messages WHERE sender = :s", s=sender
        )
        assert any("did you mean" in row for row in history)
        no_card(*history)
        with billing_db.session() as s:
            h = by_number(s, Handoff, number)
            no_card(h.reason, h.transcript)
    finally:
        ws.close()
