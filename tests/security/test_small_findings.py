"""Issue 17, item 10: the review's smaller findings, each against the real stack.

a. Rasa's gateway channel answered 500 (and logged a stack trace) for whitespace-only text or a
   lone surrogate sent straight to it: bad input now gets a 400 with a JSON error, and Rasa logs
   no traceback; odd but readable input is processed.
b. After "I can't find invoice INV-...", the share-invoice form re-asked for an invoice after every
   unrelated message (and took "pay INV-1042" as the invoice to email): another request is now
   answered as itself and the form lets go.
c. A rep's labelled Slack link ``<url|text>`` reached the widget as its text without the URL: the
   customer now gets a working link to http(s), mailto: and tel: places, and plain text for
   anything else; user mentions and channel names are never links.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.billing.adapters.orm import Handoff, Payment
from tests.billing.helpers import count
from tests.conftest import reset
from tests.e2e.gateways import instead_of_the_stack_gateway
from tests.slack_mock import Call, SlackMock, SlackSender, new_ts

# -- a. the Rasa channel and bad input ------------------------------------------------------------------


def raw_post(stack, body: bytes) -> httpx.Response:
    return httpx.post(
        stack.webhook_url,
        content=body,
        timeout=60,
        headers={"Authorization": f"Bearer {stack.gateway_token}", "content-type": "application/json"},
    )


def message(sender: str, text: Any, **more: Any) -> bytes:
    return json.dumps({"sender": sender, "message": text, "metadata": {"channel": "test"}, **more}).encode()


def rasa_log(stack) -> str:
    return (stack.data_dir / "logs" / "rasa.log").read_text(errors="replace")


def test_the_rasa_channel_answers_bad_input_with_a_400_and_no_traceback(stack):
    sender = f"e2e-bad-{time.time_ns()}"
    refused = {
        "empty": message(sender, ""),
        "a space": message(sender, " "),
        "whitespace": message(sender, " \t\n\r "),
        "ideographic and no-break spaces": message(sender, "\u3000\u00a0\u2003"),
        "a lone high surrogate": message(sender, "\ud800"),
        "a lone low surrogate and a space": message(sender, "\udfff "),
        "surrogates reversed": message(sender, "\udc00\ud800"),
        "a NUL": message(sender, "\x00"),
        "a sender with a surrogate": message("e2e-\ud800", "hi"),
        "a sender with a control character": message("e2e-\x1b[31m", "hi"),
        "not JSON": b"hello",
        "not UTF-8": b'{"sender": "x", "message": "hi \xff\xfe"}',
        "a list": b"[1, 2]",
    }
    before = rasa_log(stack)
    for name, body in refused.items():
        answer = raw_post(stack, body)
        assert answer.status_code == 400, (name, answer.status_code, answer.text)
        assert isinstance(answer.json().get("error"), str) and "Traceback" not in answer.text, (name, answer.text)
    # Readable text around a lone surrogate, or one in the metadata: processed (it goes, U+FFFD).
    for name, body in {
        "text around a surrogate": message(sender, "hi \udc00 there"),
        "metadata with a surrogate": message(sender, "hello", metadata={"page_url": "x\ud800"}),
    }.items():
        answer = raw_post(stack, body)
        assert answer.status_code == 200 and answer.json() and answer.json()[0].get("text"), (name, answer.text)
    logged = rasa_log(stack)[len(before) :]
    # the session's stack logs JSON lines (tests/e2e/stack.py); " ERROR " is the text format's
    assert "Traceback" not in logged and '"level": "ERROR"' not in logged and " ERROR " not in logged, logged[-3000:]


# -- b. the share-invoice form lets go -------------------------------------------------------------------

NOT_FOUND = "email invoice INV-9999 to ap@acme.example"
ASKED_AGAIN = "Which invoice should I send?"


def outbox(stack) -> int:
    return len(list((stack.data_dir / "outbox").glob("*.eml")))


@pytest.mark.parametrize(
    "said, answered",
    [
        ("how much is Dialer?", "$75.00"),
        ("hello", "account assistant"),
        ("what's the weather in Paris?", "outside what I can do"),
        ("show my subscription", "Monthly total"),
        ("thanks", "welcome"),
        ("what is INV-1042?", "INV-1042"),
    ],
)
def test_after_an_invoice_is_not_found_another_request_is_answered_and_the_form_lets_go(chat, stack, said, answered):
    alex = chat("alex")
    first = alex.text(NOT_FOUND)
    assert "can't find invoice INV-9999" in first, first
    sent_before = outbox(stack)
    reply = alex.text(said)
    assert answered in reply and ASKED_AGAIN not in reply, reply
    later = alex.text("hi")  # the form is gone: nothing comes back to it
    assert ASKED_AGAIN not in later, later
    assert outbox(stack) == sent_before


def test_an_invoice_number_said_for_another_request_is_not_emailed(chat, billing_db, stack):
    alex = chat("alex")
    alex.text(NOT_FOUND)
    sent_before, payments = outbox(stack), count(billing_db, Payment)
    reply = alex.text("pay INV-1042")
    assert "Sent INV-1042" not in reply and ASKED_AGAIN not in reply, reply
    assert "INV-1042" in reply and "Yes" in alex.buttons(), reply  # the payment's own question
    assert outbox(stack) == sent_before
    alex.press("No")
    assert count(billing_db, Payment) == payments


def test_after_a_not_found_the_form_still_takes_an_answer_and_a_related_question(chat, stack):
    alex = chat("alex")
    first = alex.text(NOT_FOUND)
    assert "can't find invoice INV-9999" in first and "show my invoices" in first, first  # the way out, said
    listed = alex.text("show my invoices")  # helps choose: answered, then asked again
    assert "INV-1042" in listed and ASKED_AGAIN in listed, listed
    sent = alex.text("INV-1041")
    assert "Sent INV-1041 to ap@acme.example" in sent, sent
    cancelled = chat("alex")
    cancelled.text(NOT_FOUND)
    assert "won't send" in cancelled.text("cancel")


# -- c. a rep's links reach the customer ------------------------------------------------------------------

TURN_S = 45.0
REP_TEXT = (
    "Here you go: <https://acme.example/pricing?plan=pro&amp;seats=40|our pricing>, write to "
    "<mailto:ap@acme.example|ap@acme.example>, call <tel:+18006676389|1-800-667-6389> or <tel:+14155550199>; "
    "docs at <https://acme.example/docs>. Not this: <javascript:alert(1)|click me>, nor "
    "<ftp://files.acme.example/x|the files>. Ask <@U0REP2> or see <#C0GEN|general>, <!here>."
)
LINKS = [  # href, the text it shows
    ("https://acme.example/pricing?plan=pro&seats=40", "our pricing"),
    ("mailto:ap@acme.example", "ap@acme.example"),
    ("tel:+18006676389", "1-800-667-6389"),
    ("tel:+14155550199", "+14155550199"),
    ("https://acme.example/docs", "https://acme.example/docs"),
]


@dataclass
class Bridge:
    api: SlackMock
    send: SlackSender
    gateway_url: str


@pytest.fixture(scope="module")
def bridge(stack, tmp_path_factory) -> Iterator[Bridge]:
    """The stack's gateway restarted with Slack and both handoff queues always open (the action
    server tells the stack's gateway about handoffs), and put back afterwards."""
    api = SlackMock().start()
    api.add_user("UALEXW", "alex@acme.example", "Alex Rivera")
    api.add_user("UDANA", "dana@vendor.example", "Dana Scully")
    try:
        with instead_of_the_stack_gateway(
            stack,
            tmp_path_factory.mktemp("links-gateway"),
            api,
            SLACK_SLOW_TURN_S="30",
            HANDOFF_SALES_CHANNEL="CSALES",
            HANDOFF_SALES_HOURS="Mon-Sun 00:00-00:00",
            HANDOFF_SUPPORT_CHANNEL="CSUPPORT",
            HANDOFF_SUPPORT_HOURS="Mon-Sun 00:00-00:00",
        ) as send:
            yield Bridge(api, send, stack.gateway_url)
    finally:
        api.stop()


def blocks_of(call: Call) -> list[dict[str, Any]]:
    blocks = call.args.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks or []


def claim(bridge: Bridge, number: str) -> Call:
    """The rep claims handoff ``number``; its summary post (the thread the rep answers in)."""
    post = bridge.api.wait_for(
        "chat.postMessage",
        timeout=TURN_S,
        where=lambda c: (
            number in (c.args.get("text") or "")
            and c.args.get("channel") in ("CSALES", "CSUPPORT")
            and not c.args.get("thread_ts")
        ),
    )[-1]
    message = {"ts": post.ts, "text": post.args.get("text"), "blocks": blocks_of(post)}
    assert bridge.send.click("UDANA", post.args["channel"], message, "Claim").status_code == 200
    return post


def rep_says(bridge: Bridge, post: Call, text: str) -> None:
    event = {
        "type": "message",
        "channel": post.args["channel"],
        "channel_type": "channel",
        "user": "UDANA",
        "text": text,
        "ts": new_ts(),
        "thread_ts": post.ts,
        "team": bridge.send.team,
    }
    assert bridge.send.event(event).status_code == 200


def test_a_reps_links_reach_the_widget_as_working_links(bridge, billing_db):
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_widget import Widget, launch

    reset(billing_db)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            w = Widget(browser.new_context().new_page(), bridge.gateway_url).goto("/account")  # signed in as Alex
            w.open()
            asked = w.say("I need to talk to a real person")
            number = re.search(r"HO-\d+", asked)
            assert number, asked
            post = claim(bridge, number.group())
            w.page.wait_for_selector(".row.agent:has-text('joined')", timeout=TURN_S * 1000)
            rep_says(bridge, post, REP_TEXT)
            row = w.page.locator(".row.agent", has_text="Here you go").last
            row.wait_for(timeout=TURN_S * 1000)
            links = row.locator(".bubble a").evaluate_all(
                "els => els.map(a => [a.getAttribute('href'), a.firstChild.textContent])"
            )
            shown = row.locator(".bubble").inner_text()
            rep_says(bridge, post, "close")  # Alex's widget conversation back with the bot for the next tests
            w.page.locator(".row.bot", has_text="back with the assistant").last.wait_for(timeout=TURN_S * 1000)
        finally:
            browser.close()
    assert [tuple(link) for link in links] == LINKS, links
    assert "click me" in shown and "the files" in shown and "javascript" not in json.dumps(links), shown
    assert "@U0REP2" in shown and "#general" in shown and "@here" in shown, shown
    with billing_db.session() as s:
        assert s.get(Handoff, int(number.group().removeprefix(Handoff.PREFIX)) - Handoff.OFFSET) is not None


def test_a_reps_links_reach_a_slack_customer_as_slack_links(bridge):
    bridge.api.reset()
    bridge.send.event(bridge.send.dm("UALEXW", "I need to talk to a real person"))
    reply = bridge.api.wait_for(
        "chat.postMessage",
        timeout=TURN_S,
        where=lambda c: c.args.get("channel") == "DUALEXW" and "HO-" in json.dumps(c.args, ensure_ascii=False),
    )[-1]
    number = re.search(r"HO-\d+", json.dumps(reply.args, ensure_ascii=False)).group()
    post = claim(bridge, number)
    bridge.api.wait_for(
        "chat.postMessage",
        timeout=TURN_S,
        where=lambda c: c.args.get("channel") == "DUALEXW" and "joined" in (c.args.get("text") or ""),
    )
    rep_says(bridge, post, REP_TEXT)
    relayed = bridge.api.wait_for(
        "chat.postMessage",
        timeout=TURN_S,
        where=lambda c: c.args.get("channel") == "DUALEXW" and "Here you go" in (c.args.get("text") or ""),
    )[-1].args["text"]
    for href, label in LINKS:
        assert f"<{href.replace('&', '&amp;')}|{label}>" in relayed, relayed
    assert "javascript" not in relayed and "click me" in relayed and "<@U0REP2>" not in relayed, relayed
    rep_says(bridge, post, "close")  # the conversation back with the bot for the next tests
    bridge.api.wait_for(
        "chat.postMessage",
        timeout=TURN_S,
        where=lambda c: c.args.get("channel") == "DUALEXW" and "back with the assistant" in (c.args.get("text") or ""),
    )
