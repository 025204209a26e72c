"""Play the dialogue scripts against the real stack and score them.

    python -m tests.dialogues.driver [--only id,...] [--topic name,...] [-v] [--json FILE]

One stack (bot.launch.runner.Stack: billing, action server, Rasa, gateway channel) for the whole run; for
each script the billing database is seeded afresh, the turns go to Rasa's gateway channel exactly as
the gateway sends them (token, metadata identity), every reply is checked loosely, and the billing
state before and after is compared with the script's outcome. A script succeeds when every check
passes and the state changed exactly as its outcome says; a change it did not ask for is a wrong
action.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from bot.billing.adapters.db import Database
from bot.billing.adapters.orm import Invoice, Org
from bot.billing.domain.money import format_money
from bot.launch.runner import Stack

from .outcome import check
from .scripts import Script, load
from .state import changes, snapshot

TURN_TIMEOUT_S = 60


@dataclass
class Result:
    id: str
    topic: str
    who: str
    passed: bool
    failure: str | None = None  # the first failing check, with the turn and the reply
    wrong: list[str] = field(default_factory=list)  # wrong actions
    problems: list[str] = field(default_factory=list)  # every failing check
    diff: dict[str, Any] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    def explain(self) -> str:
        lines = [f"{self.id} ({self.topic}, {self.who}): {'ok' if self.passed else 'FAILED'}"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  wrong action: {w}" for w in self.wrong]
        if not self.passed:
            lines.append(f"  state change: {json.dumps(self.diff, default=str)[:800]}")
            lines += ["  | " + t for t in self.transcript]
        return "\n".join(lines)


class Channel:
    """One conversation through Rasa's gateway channel, as the gateway sends it."""

    def __init__(self, stack: Stack, script: Script) -> None:
        self.url = stack.webhook_url
        self.sender = f"dlg-{script.who}-{uuid.uuid4().hex[:10]}"
        identity = {"identity": {"email": script.email}} if script.email else {}
        self.metadata = {"channel": script.channel, **identity, **script.metadata}
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {stack.gateway_token}"}, timeout=TURN_TIMEOUT_S, trust_env=False
        )
        self.last: list[dict] = []

    def say(self, text: str) -> list[dict]:
        answer = self.client.post(self.url, json={"sender": self.sender, "message": text, "metadata": self.metadata})
        answer.raise_for_status()
        self.last = answer.json()
        return self.last

    def buttons(self) -> list[dict]:
        return [b for m in self.last for b in (m.get("buttons") or [])]

    def button(self, title: str) -> dict | None:
        """The button whose title contains ``title`` (case-insensitive); "#2" is the second one."""
        found = self.buttons()
        if title.startswith("#") and title[1:].isdigit():
            i = int(title[1:]) - 1
            return found[i] if 0 <= i < len(found) else None
        return next((b for b in found if title.lower() in b["title"].lower()), None)

    def close(self) -> None:
        self.client.close()


_NAMED = re.compile(r"\{([^{}]+)\}")
CHECKS = ("expect_all", "expect_any", "expect_none")


def amounts(db: Database) -> dict[str, str]:
    """What the seeded invoices come to on the day the seed runs: it prorates from that day, so an
    amount a script expects is named, not written: ``{INV-1042}`` (an invoice's total) and
    ``{owed Acme Corp}`` (what an organisation's open invoices come to)."""
    found: dict[str, str] = {}
    owed: dict[str, tuple[int, str]] = {}
    with db.session() as s:
        for invoice, org in s.execute(select(Invoice, Org.name).join(Org, Org.id == Invoice.org_id)):
            found[invoice.number] = format_money(invoice.total, invoice.currency)
            if invoice.status == "open":
                total, _ = owed.get(org, (0, invoice.currency))
                owed[org] = (total + invoice.total, invoice.currency)
    found.update({f"owed {org}": format_money(total, currency) for org, (total, currency) in owed.items()})
    return found


def named(turn: dict, values: dict[str, str]) -> dict:
    """The turn with the amounts it names filled in (``amounts``); an unknown name is an error."""

    def fill(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            if match.group(1) not in values:
                raise KeyError(f"the script names {match.group(0)}, which the seeded data does not have")
            return values[match.group(1)]

        return _NAMED.sub(value, text)

    return {k: [fill(str(w)) for w in v] if k in CHECKS and v else v for k, v in turn.items()}


def reply_text(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def check_reply(turn: dict, messages: list[dict], titles: list[str]) -> list[str]:
    text = reply_text(messages)
    low, problems = text.lower(), []
    said = [m for m in messages if (m.get("text") or "").strip()]
    if "max_messages" in turn and len(said) > turn["max_messages"]:
        problems.append(f"{len(said)} messages, expected at most {turn['max_messages']}")
    if (want := turn.get("expect_any")) and not any(w.lower() in low for w in want):
        problems.append(f"reply has none of {want}")
    if want := [w for w in turn.get("expect_all") or [] if w.lower() not in low]:
        problems.append(f"reply lacks {want}")
    if bad := [w for w in turn.get("expect_none") or [] if w.lower() in low]:
        problems.append(f"reply has {bad}")
    lowered = [t.lower() for t in titles]
    if (want := turn.get("buttons_any")) and not any(w.lower() in t for w in want for t in lowered):
        problems.append(f"no button like {want} (buttons: {titles})")
    if bad := [w for w in turn.get("buttons_none") or [] if any(w.lower() in t for t in lowered)]:
        problems.append(f"unwanted buttons {bad} (buttons: {titles})")
    return problems


def play(stack: Stack, db: Database, script: Script, queues: dict | None) -> Result:
    """Reseed, play one script, check its replies and the state change."""
    from tests.conftest import reset

    reset(db)
    values = amounts(db)
    outbox = stack.data_dir / "outbox"
    before = snapshot(db, outbox)
    result = Result(script.id, script.topic, script.who, passed=False)
    channel = Channel(stack, script)
    try:
        for n, asked in enumerate(script.turns, 1):
            turn = named(asked, values)
            if "press" in turn:
                button = channel.button(str(turn["press"]))
                if button is None and turn.get("optional"):
                    result.transcript.append(f"{n}. [no button {turn['press']!r}: optional press skipped]")
                    continue
                if button is None:
                    result.problems.append(
                        f"turn {n}: no button {turn['press']!r} to press "
                        f"(buttons: {[b['title'] for b in channel.buttons()]})"
                    )
                    result.transcript.append(f"[press {turn['press']}] -> no such button")
                    break
                said, messages = f"[press {button['title']}]", channel.say(button["payload"])
            else:
                said, messages = str(turn["user"]), channel.say(str(turn["user"]))
            text, titles = reply_text(messages), [b["title"] for b in channel.buttons()]
            result.transcript.append(f"{n}. user: {said}")
            result.transcript.append(
                "   bot:  "
                + text.replace("\n", "\n         ")
                + (f"  [buttons: {' | '.join(titles)}]" if titles else "")
            )
            result.problems += [
                f"turn {n} ({said!r}): {p}; reply: {text[:300]!r}" for p in check_reply(turn, messages, titles)
            ]
    except httpx.HTTPError as error:
        result.problems.append(f"the channel failed: {error.__class__.__name__}: {error}")
    finally:
        channel.close()
    result.diff = changes(before, snapshot(db, outbox))
    verdict = check(script.outcome, result.diff, outbox, queues)
    result.problems += [f"outcome: {p}" for p in verdict.problems]
    result.wrong = verdict.wrong
    result.passed = not result.problems and not result.wrong
    result.failure = (result.problems or [f"wrong action: {w}" for w in result.wrong] or [None])[0]
    return result


def opening_hours() -> dict | None:
    """The handoff queues as the gateway reads them (the stack inherits this process's environment)."""
    try:
        from bot.gateway.config import GatewaySettings
        from bot.gateway.handoff.queues import queues_from
    except ImportError:  # the hours check is then skipped, with a note
        print("note: bot.gateway not importable; callbacks' opening hours are not checked", file=sys.stderr)
        return None
    return queues_from(GatewaySettings())


def intents_seen(stack: Stack) -> Counter:
    """The intents (faq/<question> for the FAQ) Rasa predicted for the scripts' messages: the
    driver reports the domain's intents that no script reached."""
    seen: Counter = Counter()
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE type_name = 'user' AND sender_id LIKE 'dlg-%'").fetchall()
    for (data,) in rows:
        parse = json.loads(data).get("parse_data") or {}
        name = (parse.get("intent") or {}).get("name")
        if name == "faq":
            name = (
                (parse.get("response_selector") or {}).get("faq", {}).get("response", {}).get("intent_response_key")
            ) or name
        seen[name] += 1
    return seen


def domain_intents() -> set[str]:
    """Every intent of bot/domain/nlu.yml, the FAQ as its questions (nlu_data/faq.yml)."""
    root = Path(__file__).resolve().parents[2]
    intents = set(yaml.safe_load((root / "bot/domain/nlu.yml").read_text())["intents"]) - {"faq"}
    faq = yaml.safe_load((root / "nlu_data/faq.yml").read_text())
    return intents | {e["intent"] for e in faq.get("nlu", []) if "intent" in e}


def summarise(results: list[Result]) -> dict[str, float]:
    """Task success overall and per topic, and the count of wrong actions."""
    total = len(results) or 1
    figures: dict[str, float] = {
        "task_success": sum(r.passed for r in results) / total,
        "wrong_actions": float(sum(len(r.wrong) for r in results)),
        "scripts": float(len(results)),
    }
    topics = Counter(r.topic for r in results)
    for topic in sorted(topics):
        figures[f"success_{topic}"] = sum(r.passed for r in results if r.topic == topic) / topics[topic]
    return figures


def run_all(
    scripts: list[Script], *, verbose: bool = False, data_dir: Path | None = None, model: Path | None = None
) -> list[Result]:
    results: list[Result] = []
    stack = Stack(
        data_dir=data_dir or Path(tempfile.mkdtemp(prefix="dialogues-")), **({"model": model} if model else {})
    )
    with stack:
        db = Database.connect(stack.env()["DATABASE_URL"])
        queues = opening_hours()
        try:
            for i, script in enumerate(scripts, 1):
                result = play(stack, db, script, queues)
                results.append(result)
                mark = "ok  " if result.passed else "FAIL"
                print(
                    f"[{i:3d}/{len(scripts)}] {mark} {script.id}" + ("" if result.passed else f": {result.failure}"),
                    flush=True,
                )
                if verbose and not result.passed:
                    print(result.explain(), flush=True)
            if len(scripts) > 20 and (missing := domain_intents() - set(intents_seen(stack))):
                print(f"note: no script's message was understood as: {', '.join(sorted(missing))}", flush=True)
        finally:
            db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dialogues.driver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated script ids")
    parser.add_argument("--topic", help="comma-separated topics (file names without .yml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure's transcript and diff")
    parser.add_argument("--json", type=Path, help="write every result to this file")
    args = parser.parse_args(argv)
    scripts = load()
    if args.only:
        wanted = {s.strip() for s in args.only.split(",")}
        if unknown := wanted - {s.id for s in scripts}:
            parser.error(f"unknown script ids: {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if s.id in wanted]
    if args.topic:
        topics = {t.strip() for t in args.topic.split(",")}
        scripts = [s for s in scripts if s.topic in topics]
    results = run_all(scripts, verbose=args.verbose)
    figures = summarise(results)
    print(
        f"\n{sum(r.passed for r in results)}/{len(results)} scripts passed "
        f"(task success {figures['task_success']:.3f}), wrong actions {figures['wrong_actions']:.0f}"
    )
    for name, value in figures.items():
        if name.startswith("success_"):
            print(f"  {name[8:]:<16} {value:.2f}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2, default=str))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
