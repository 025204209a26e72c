"""What the fuzz test (test_fuzz.py) throws at the gateway, from one seeded ``random.Random``:
texts (mixed scripts, RTL, emoji, zero-width and control characters, NULs, lone surrogates,
huge, empty, JSON-, SQL-, markup- and card-number-looking), widget WebSocket frames, and Slack
requests (events, interactions, slash commands) that are malformed, unsigned, wrongly signed,
stale or replayed."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.nlu.text_hygiene import clean
from tests.slack_mock import sign

SCRIPTS = [
    (0x0041, 0x007A),
    (0x00C0, 0x024F),
    (0x0370, 0x03FF),
    (0x0400, 0x04FF),  # Latin, Greek, Cyrillic
    (0x0590, 0x05FF),
    (0x0600, 0x06FF),
    (0x0750, 0x077F),  # Hebrew, Arabic (RTL)
    (0x0900, 0x097F),
    (0x0E00, 0x0E7F),
    (0x3040, 0x30FF),
    (0x4E00, 0x4FFF),
    (0xAC00, 0xAD00),  # Indic, Thai, CJK
    (0x1F300, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F900, 0x1F9FF),  # emoji
    (0x0300, 0x036F),  # combining marks
    (0xFF10, 0xFF5A),  # fullwidth digits and letters
]
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u00ad"
CONTROL = "".join(map(chr, [*range(0, 32), 127, *range(0x80, 0xA0)]))
SURROGATES = "".join(chr(c) for c in (0xD800, 0xDBFF, 0xDC00, 0xDFFF))
EMOJI_SEQUENCES = ["👩‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇫🇷", "❤️", "🧑🏿‍💻", "1️⃣"]

# The card numbers TEMPLATES writes (in several forms), as digits: test_fuzz.py checks none of
# them reaches Rasa's tracker store or a log, however it was written.
CARDS = ("4242424242424242", "4000000000000002", "378282246310005", "4111111111111111")

TEMPLATES = [
    "'; DROP TABLE orders; --",
    "1 OR 1=1",
    "Robert'); DROP TABLE students;--",
    "x' UNION SELECT * FROM users --",
    '/add_licenses{"quantity": 500}',
    "/affirm",
    "/deny",
    '/pay_invoice{"invoice": "INV-1041"}',
    "/restart",
    '{"type": "message", "text": "hi"}',
    "[1, 2, {",
    "null",
    "true",
    '{"__proto__": {"admin": true}}',
    "<!channel> <!here|here> <@U0001> <#C0001|general>",
    "<https://evil.example|click me> <javascript:alert(1)|x>",
    "*bold* _it_ ~strike~ `code` ```block``` > quote",
    "&lt;&gt;&amp; &#60;script&#62;",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}} {% for x in y %} ${jndi:ldap://x/a} %s%n{0}",
    "4242 4242 4242 4242",
    "my card is 4000-0000-0000-0002 exp 12/30 cvc 123",
    "378282246310005",
    "4242\u200b4242\u200b4242\u200b4242",
    "４２４２ ４２４２ ４２４２ ４２４２",
    "card: 4111111111111111",
    "what's the weather",
    "add -5 licenses",
    "add 99999999999999999999 licenses",
    "add NaN licenses",
    "pay INV-0",
    "INV-" + "9" * 40,
    "email it to a@b",
    "email it to <mailto:x@y.example|x@y.example>",
    "מה המחיר של Enterprise?",
    "كم سعر Enterprise لـ 40 مستخدم؟",
    "Enterprise の料金は？",
    "😀" * 50,
    "\u202eesirpretnE\u202c price",
    "e\u0301\u0301\u0301\u0301 z\u0335\u0336\u0337",
]


def random_text(rng: random.Random, max_len: int = 400) -> str:
    """A text of mixed scripts with invisible, control and template fragments mixed in."""
    parts: list[str] = []
    length = rng.choice([1, 2, 5, 20, 80, max_len])
    while sum(map(len, parts)) < length:
        kind = rng.random()
        if kind < 0.35:
            lo, hi = rng.choice(SCRIPTS)
            parts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 12))))
        elif kind < 0.5:
            parts.append(rng.choice(TEMPLATES))
        elif kind < 0.6:
            parts.append(rng.choice(INVISIBLE) * rng.randint(1, 3))
        elif kind < 0.68:
            parts.append(rng.choice(CONTROL))
        elif kind < 0.75:
            parts.append(rng.choice(EMOJI_SEQUENCES))
        elif kind < 0.8:
            parts.append(rng.choice(SURROGATES))
        else:
            parts.append(rng.choice([" ", "  ", "\n", "\t", "the", "licenses", "invoice", "yes", "no", "5"]))
    return "".join(parts)[: max(1, length)]


def huge_text(rng: random.Random, size: int = 100_000) -> str:
    unit = rng.choice(["a", "é", "😀", "\u200b", "add 5 licenses ", "\x00", "４", "ש"])
    return (unit * (size // len(unit) + 1))[:size]


def fuzz_text(rng: random.Random) -> str:
    """Any text at all: empty, blank, huge, or random."""
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(["", " ", "\n\t ", "\u200b", "\x00", "\ufeff"])
    if roll < 0.10:
        return huge_text(rng, rng.choice([1_001, 5_000, 20_000, 100_000]))
    return random_text(rng)


def rasa_text(rng: random.Random) -> str:
    """A text the gateway accepts and hands to Rasa (1 to 1,000 characters, something readable in
    it once cleaned: bot.nlu.text_hygiene)."""
    for _ in range(20):
        text = random_text(rng, max_len=rng.choice([30, 200, 990]))
        if clean(text) and len(text.strip()) <= 1_000:
            return text
    return "hello"


# -- widget frames ------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value)  # ensure_ascii: lone surrogates travel as \ud800 escapes


def widget_frame(rng: random.Random) -> str | bytes:
    """A frame on an open (welcomed) socket that the gateway must refuse before Rasa."""
    cid = uuid.uuid4().hex
    choice = rng.randrange(16)
    if choice == 0:
        return rng.randbytes(rng.randint(0, 200))
    if choice == 1:
        return rng.choice(
            [
                "",
                "{",
                "}",
                "not json",
                '{"type": "message"',
                "[]",
                "null",
                "1",
                '"text"',
                "NaN",
                '{"type": "message", "id": "' + cid + '", "text": "\\ud800' + '"',
            ]
        )
    if choice == 2:
        return _dumps(rng.choice([[], [1, 2], 42, 3.5, True, None, "message"]))
    if choice == 3:
        return _dumps(
            {
                "type": rng.choice(
                    [
                        "hello",
                        "msg",
                        "MESSAGE",
                        "typing",
                        "",
                        None,
                        7,
                        ["message"],
                        {"a": 1},
                        "x" * 500,
                        "welcome",
                        "error",
                        "ack",
                    ]
                ),
                "id": cid,
                "text": "hi",
            }
        )
    if choice == 4:
        return _dumps({"id": cid, "text": "hi"})  # no type
    if choice == 5:
        return _dumps({"type": "message", "text": "hi"})  # no id
    if choice == 6:
        bad = rng.choice(
            [
                "",
                "short",
                "x" * 65,
                "id with spaces",
                "ünïcode-id-1",
                None,
                12345678,
                ["a" * 10],
                {"id": "a" * 10},
                "../../etc/passwd",
                "a" * 7,
                "<script>xx</script>",
            ]
        )
        return _dumps({"type": "message", "id": bad, "text": "hi"})
    if choice == 7:
        return _dumps(
            {"type": "message", "id": cid, "text": rng.choice([None, 5, 1.5, True, [], ["hi"], {"text": "hi"}])}
        )
    if choice == 8:
        return _dumps({"type": "message", "id": cid, "text": rng.choice(["", " ", "\n\t", "\u3000 ", "\u2028"])})
    if choice == 9:
        return _dumps({"type": "message", "id": cid, "text": random_text(rng, 50) + "x" * rng.randint(1_001, 9_000)})
    if choice == 10:
        return _dumps({"type": "message", "id": cid, "text": "x" * rng.randint(12_000, 60_000)})  # > max frame
    if choice == 11:
        payload = rng.choice([5, [], {}, "", "  ", "/" + "x" * 1_001, True])
        return _dumps({"type": "message", "id": cid, "text": "hi", "payload": payload})
    if choice == 12:
        return _dumps({"type": "ping", "junk": random_text(rng, 20)})
    if choice == 13:
        return _dumps({"type": "message", "id": cid, "text": "\n".join(["a"] * 2_000)})  # > 1,000 characters
    if choice == 14:
        return rng.choice(
            [
                '{"type": "message", "id": 1e999}',
                '{"type": "message", "id": "' + cid + '", "text": -0}',
                "[" * 5_000 + "]" * 5_000,
            ]
        )  # nested deeper than Python's recursion limit
    return _dumps({"type": "message", "id": cid, "text": "", "extra": random_text(rng, 30)})


NONE_ALG_JWT = "eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFsZXhAYWNtZS5leGFtcGxlIn0."  # alg none, email alex


def hello_frame(rng: random.Random) -> str | bytes:
    """A first frame that is no acceptable hello (the gateway says so and closes with 4008, or 4001)."""
    choice = rng.randrange(8)
    if choice == 0:
        return rng.randbytes(rng.randint(1, 100))
    if choice == 1:
        return rng.choice(["", "hello", "{", "[]", "null", '"hello"'])
    if choice == 2:
        return _dumps({"type": rng.choice(["message", "HELLO", None, 1, []])})
    if choice == 3:
        return _dumps(
            {"type": "hello", "jwt": rng.choice(["x", "a.b.c", "e30.e30.", "x" * 9_000, 5, ["jwt"], NONE_ALG_JWT])}
        )
    if choice == 4:
        return _dumps({"type": "hello", "padding": "x" * 20_000})  # > 16 KB hello
    if choice == 5:
        return _dumps(["hello"])
    if choice == 6:
        return '{"type": "hello"' + "," * 10
    return _dumps(
        {
            "type": "hello",
            "visitor": rng.choice([5, [], {}, "v1.x.y", "v1." + "A" * 30 + ".sig"]),
            "since": rng.choice([-1, "5", 1e30, None, [], 2**70]),
            "page_url": rng.choice([5, "javascript:x"]),
            "timezone": rng.choice(["Mars/Olympus", "../../etc", 5, "", "UTC" * 40]),
        }
    )


# -- Slack requests -------------------------------------------------------------------------------------


@dataclass
class SlackRequest:
    body: bytes
    headers: dict[str, str]
    kind: str


def slack_requests(rng: random.Random, secret: str, users: list[str]) -> Callable[[], SlackRequest]:
    """A maker of Slack requests the gateway must refuse or ignore, without acting twice or at all
    on anything billing would record (the users billing does not know, or who may not buy)."""
    replayable: list[SlackRequest] = []

    def signed(body: bytes, content_type: str, kind: str, timestamp: int | None = None) -> SlackRequest:
        request = SlackRequest(body, {"content-type": content_type, **sign(secret, body, timestamp)}, kind)
        if len(replayable) < 50:
            replayable.append(request)
        return request

    def event_body(event: Any, envelope: dict[str, Any] | None = None) -> bytes:
        base = {
            "token": "legacy",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "event": event,
        }
        return json.dumps({**base, **(envelope or {})}).encode()

    def form(fields: dict[str, Any]) -> bytes:
        return urlencode(fields, errors="surrogatepass").encode()  # lone surrogates: invalid UTF-8

    def make() -> SlackRequest:
        user = rng.choice(users)
        # Commands, clicks and some DMs reach Rasa (slow): weighted down, the rest is refused before it.
        choice = rng.choices(range(14), weights=[1, 1, 1, 1, 1, 1, 1, 1, 0.25, 0.25, 0.6, 0.6, 0.5, 1])[0]
        if choice == 0:  # unsigned
            return SlackRequest(
                event_body({"type": "message", "user": user, "text": "hi"}),
                {"content-type": "application/json"},
                "unsigned",
            )
        if choice == 1:  # signed with another secret, or a mangled signature
            body = event_body({"type": "message", "user": user, "text": "hi", "channel": f"D{user}"})
            headers = {"content-type": "application/json", **sign("not-the-secret", body)}
            if rng.random() < 0.5:
                headers["x-slack-signature"] = rng.choice(["", "v0=", "v1=abc", "v0=" + "0" * 64, "garbage" * 10])
            return SlackRequest(body, headers, "wrong-signature")
        if choice == 2:  # stale or future timestamp, or not a number
            body = event_body({"type": "message", "user": user, "text": "hi"})
            stamp = int(time.time()) + rng.choice([-3_600, -301, 400, 10**9])
            headers = {"content-type": "application/json", **sign(secret, body, stamp)}
            if rng.random() < 0.3:
                headers["x-slack-request-timestamp"] = rng.choice(["", "abc", "-1", "1e9", "９".encode()])
            return SlackRequest(body, headers, "stale")
        if choice == 3 and replayable:  # a request already sent, sent again
            return SlackRequest(**{**rng.choice(replayable).__dict__, "kind": "replayed"})
        if choice == 4:  # signed body that is not JSON / not an object
            body = rng.choice(
                [
                    b"",
                    b"{",
                    b"[]",
                    b"null",
                    b'"x"',
                    rng.randbytes(50),
                    b"\xff\xfe\x00",
                    b'{"type": "event_callback", "event": "\\ud800"}',
                    b"[" * 200_000,
                ]
            )
            return signed(
                body,
                rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
                "malformed-body",
            )
        if choice == 5:  # envelope with wrong types / unknown types
            envelope = rng.choice(
                [
                    {"type": "url_verification", "challenge": rng.choice(["x", 5, None])},
                    {"type": "app_rate_limited"},
                    {"type": None},
                    {"type": ["event_callback"]},
                    {"team_id": None},
                    {"team_id": 5},
                    {"event": None},
                    {"event_id": 5},
                    {"authorizations": "x"},
                    {"type": "x" * 300},
                ]
            )
            return signed(
                event_body({"type": "message", "user": user, "text": "hi"}, envelope), "application/json", "envelope"
            )
        if choice == 6:  # message events with wrong or missing fields
            event = rng.choice(
                [
                    {"type": "message"},
                    {"type": "message", "user": user},
                    {"type": "message", "channel": f"D{user}"},
                    {
                        "type": "message",
                        "user": user,
                        "channel": f"D{user}",
                        "text": rng.choice([5, [], {}, None, True]),
                    },
                    {"type": "message", "user": [user], "channel": f"D{user}", "text": "hi", "channel_type": "im"},
                    {"type": "message", "user": user, "channel": 5, "text": "hi", "ts": {"x": 1}},
                    {
                        "type": "message",
                        "subtype": rng.choice(["message_changed", "bot_message", "weird", None, 5]),
                        "user": user,
                        "channel": f"D{user}",
                        "text": "add 5 licenses",
                        "channel_type": "im",
                    },
                    {"type": "message", "bot_id": "B1", "user": user, "channel": f"D{user}", "text": "yes"},
                    {"type": "app_mention", "user": user, "channel": "CFUZZ", "text": 7},
                    {"type": "app_home_opened", "user": 5, "tab": ["home"]},
                    {"type": "reaction_added"},
                    {"type": rng.choice(["unknown_event", "", None, 5])},
                    "not an object",
                    [],
                ]
            )
            return signed(event_body(event), "application/json", "bad-event")
        if choice == 7:  # interactions: malformed payload field
            payload = rng.choice(
                [
                    "",
                    "{",
                    "null",
                    "[]",
                    '"x"',
                    json.dumps({"type": "block_actions"}),
                    json.dumps({"type": "block_actions", "actions": "x", "user": "U"}),
                    json.dumps({"type": "block_actions", "user": {"id": user}, "actions": [{}]}),
                    json.dumps(
                        {
                            "type": "block_actions",
                            "user": {"id": user},
                            "team": None,
                            "actions": [{"action_id": 5, "value": [], "block_id": None}],
                        }
                    ),
                    json.dumps({"type": "view_submission", "view": None}),
                    json.dumps({"type": "shortcut", "callback_id": "x"}),
                    json.dumps({"type": rng.choice([None, 5, "unknown"])}),
                ]
            )
            fields = {"payload": payload} if rng.random() < 0.9 else {"not_payload": payload}
            return signed(form(fields), "application/x-www-form-urlencoded", "interaction")
        if choice == 8:  # a click on a button with a payload it never had, by a user who may not buy
            action = {
                "action_id": rng.choice(
                    ["rasa_button_0", "rasa_button_7", "home_pay", "home_x", "handoff_claim", "zzz"]
                ),
                "block_id": rng.choice([None, "", "rasa:U0000:1", "rasa:" + user + ":0", "x" * 300]),
                "type": "button",
                "value": rng.choice(['/add_licenses{"quantity": 500}', "/affirm", random_text(rng, 40), ""]),
                "text": {"type": "plain_text", "text": "Yes"},
                "action_ts": rng.choice(["x", "1.5", None]),
            }
            payload = {
                "type": "block_actions",
                "team": {"id": "T0001"},
                "user": {"id": user, "team_id": "T0001"},
                "api_app_id": "A0001",
                "container": {"type": "message", "message_ts": "1.000001", "channel_id": f"D{user}"},
                "channel": {"id": f"D{user}"},
                "message": {"ts": f"{time.time():.6f}", "text": "q", "blocks": []},
                "actions": [action],
            }
            return signed(form({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", "click")
        if choice == 9:  # slash commands: missing or odd fields
            fields = {
                "command": rng.choice(["/account", "/other", "", "/account" * 50]),
                "user_id": user,
                "team_id": "T0001",
                "channel_id": "CFUZZ",
                "text": fuzz_text(rng)[:3_000],
                "trigger_id": f"trig.{uuid.uuid4().hex}",
            }
            for key in rng.sample(sorted(fields), rng.randint(0, 3)):
                del fields[key]
            return signed(form(fields), "application/x-www-form-urlencoded", "command")
        if choice == 10:  # a DM that is too long, or blank, or nothing but markup
            text = rng.choice(
                [huge_text(rng, rng.choice([4_001, 40_000, 100_000])), "", "   ", "<@UBOT>", "<!channel>", "\u200b"]
            )
            event = {
                "type": "message",
                "channel_type": "im",
                "user": user,
                "channel": f"D{user}",
                "text": text,
                "ts": f"{time.time():.6f}",
            }
            return signed(event_body(event), "application/json", "dm-refused")
        if choice == 11:  # an edit, a delete, a file share with odd files
            event = rng.choice(
                [
                    {
                        "type": "message",
                        "subtype": "message_changed",
                        "channel": f"D{user}",
                        "channel_type": "im",
                        "message": {"user": user, "text": "add 500 licenses"},
                        "previous_message": None,
                    },
                    {"type": "message", "subtype": "message_deleted", "channel": f"D{user}", "deleted_ts": "x"},
                    {
                        "type": "message",
                        "subtype": "file_share",
                        "user": user,
                        "channel": f"D{user}",
                        "channel_type": "im",
                        "files": rng.choice([[{}], "x", [None], [{"name": "\x00.pdf"}]]),
                        "text": "",
                        "ts": f"{time.time():.6f}",
                    },
                ]
            )
            return signed(event_body(event), "application/json", "edit-delete-file")
        if choice == 12:  # methods and paths other than POST /slack/events are for the test to send
            return signed(
                event_body({"type": "message"}), "application/json; charset=" + rng.choice(["latin-1", "x"]), "charset"
            )
        # In a channel, without a mention: not for the assistant.
        event = {
            "type": "message",
            "user": user,
            "text": "add 5 licenses",
            "channel": "CFUZZ",
            "ts": f"{time.time():.6f}",
            "channel_type": "channel",
        }
        return signed(event_body(event), "application/json", "not-mentioned")

    return make
