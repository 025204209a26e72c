"""A script's ``outcome`` against the state diff (tests.dialogues.state.changes): what is missing,
and the wrong actions, i.e. changes nobody asked for.

Everything an outcome does not list must stay as it was. New invoices are expected one per order
(an order bills at once) unless ``invoices`` says otherwise. A booked callback must lie within its
queue's opening hours (HANDOFF_<QUEUE>_HOURS / _TIMEZONE / _HOLIDAYS, read as the gateway reads
them), whatever day the run is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

KEYS = {
    "licenses",
    "orders",
    "invoices",
    "payments",
    "paid",
    "cases",
    "handoffs",
    "callbacks",
    "billing",
    "contacts",
    "emails",
}


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)  # what the outcome wanted and did not get
    wrong: list[str] = field(default_factory=list)  # changes nobody asked for (wrong actions)


def _count(spec: Any) -> int:
    if isinstance(spec, dict):
        return int(spec.get("count", 1))
    return int(spec or 0)


def _words(text: str, spec: dict, key: str) -> str | None:
    low = (text or "").lower()
    if (want := spec.get(f"{key}_any")) and not any(w.lower() in low for w in want):
        return f"{key} {text!r} has none of {want}"
    if (bad := spec.get(f"{key}_none")) and any(w.lower() in low for w in bad):
        return f"{key} {text!r} has one of {bad}"
    return None


def _records(kind: str, spec: Any, rows: list[dict], verdict: Verdict, fields: dict[str, str]) -> None:
    want = _count(spec)
    if len(rows) > want:
        verdict.wrong += [f"unasked {kind[:-1]} {r['number']}: {_brief(r)}" for r in rows[want:]]
    elif len(rows) < want:
        verdict.problems.append(f"expected {want} new {kind}, got {len(rows)}")
    if not isinstance(spec, dict):
        return
    for row in rows[:want]:
        for key, column in fields.items():
            if key in spec and str(row.get(column) or "").lower() != str(spec[key]).lower():
                verdict.problems.append(
                    f"{kind[:-1]} {row['number']}: {column} is {row.get(column)!r}, expected {spec[key]!r}"
                )
            if problem := _words(row.get(column) or "", spec, key):
                verdict.problems.append(f"{kind[:-1]} {row['number']}: {problem}")


def _brief(row: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items() if k != "number" and v not in (None, ""))[:160]


def check(outcome: dict[str, Any] | None, diff: dict[str, Any], outbox: Path, queues: dict | None) -> Verdict:
    outcome, verdict = dict(outcome or {}), Verdict()
    # licenses: each named line changes by exactly that much; any other line is a wrong action
    want, got = outcome.get("licenses") or {}, diff.get("licenses") or {}
    for line in sorted({*want, *got}):
        w, g = int(want.get(line, 0)), int(got.get(line, 0))
        if w != g:
            (verdict.wrong if g else verdict.problems).append(f"licenses {line}: changed by {g:+d}, expected {w:+d}")
    for name in ("orders", "payments"):
        w, g = int(outcome.get(name, 0)), int(diff.get(name, 0))
        if g > w:
            verdict.wrong.append(f"{g - w} unasked {name}")
        elif g < w:
            verdict.problems.append(f"expected {w} new {name}, got {g}")
    w, g = int(outcome.get("invoices", outcome.get("orders", 0))), int(diff.get("invoices", 0))
    if g != w:
        (verdict.wrong if g > w else verdict.problems).append(f"{g} new invoices, expected {w}")
    if diff.get("payment_methods"):
        verdict.wrong.append(
            f"payment methods changed by {diff['payment_methods']:+d} (cards change only on the secure page)"
        )
    if diff.get("invoice_status"):
        verdict.wrong.append(f"invoice status changed: {diff['invoice_status']}")
    paid_want, paid_got = outcome.get("paid"), diff.get("paid") or []
    if paid_want is not None:
        for number in paid_got:
            if number not in paid_want:
                verdict.wrong.append(f"{number} paid, expected only {paid_want}")
        for number in paid_want:
            if number not in paid_got:
                verdict.problems.append(f"{number} is not paid")
    elif paid_got and not outcome.get("payments"):
        verdict.wrong.append(f"unasked invoice payment: {paid_got}")
    _records(
        "cases",
        outcome.get("cases"),
        diff.get("cases") or [],
        verdict,
        {"description": "description", "subject": "subject"},
    )
    _records(
        "handoffs",
        outcome.get("handoffs"),
        diff.get("handoffs") or [],
        verdict,
        {
            "queue": "queue",
            "reason": "reason",
            "lead_name": "lead_name",
            "lead_email": "lead_email",
            "lead_company": "lead_company",
            "lead_phone": "lead_phone",
        },
    )
    callbacks = diff.get("callbacks") or []
    _records("callbacks", outcome.get("callbacks"), callbacks, verdict, {"queue": "queue", "phone": "phone"})
    for callback in callbacks:
        if problem := outside_hours(callback, queues):
            verdict.problems.append(problem)
    for kind in ("billing", "contacts"):
        want, got = outcome.get(kind) or {}, diff.get(kind) or {}
        for owner in sorted({*want, *got}):
            w, g = want.get(owner) or {}, got.get(owner) or {}
            for name in sorted({*w, *g}):
                if name not in g:
                    verdict.problems.append(f"{kind} of {owner}: {name} not changed to {w[name]!r}")
                elif name not in w:
                    verdict.wrong.append(f"{kind} of {owner}: {name} changed to {g[name]!r} unasked")
                elif str(g[name]).lower() != str(w[name]).lower():
                    verdict.wrong.append(f"{kind} of {owner}: {name} is {g[name]!r}, expected {w[name]!r}")
    _emails(outcome.get("emails"), diff.get("emails") or [], outbox, verdict)
    return verdict


def _emails(spec: Any, new: list[str], outbox: Path, verdict: Verdict) -> None:
    # a list names the recipients: one message to several of them, or one message each
    recipients = [str(r) for r in spec] if isinstance(spec, list) else []
    low, high = (1, len(recipients)) if recipients else (_count(spec), _count(spec))
    if len(new) > high:
        verdict.wrong.append(f"{len(new) - high} unasked emails")
    elif len(new) < low:
        verdict.problems.append(f"expected {low} emails sent, got {len(new)}")
    headers = [_to_header(outbox / name) for name in new]
    for address in recipients:
        if not any(address.lower() in h for h in headers):
            verdict.problems.append(f"no email to {address} (sent to: {headers or 'nobody'})")


def _to_header(path: Path) -> str:
    text = path.read_text(errors="replace")
    return " ".join(line.lower() for line in text.splitlines() if line.lower().startswith(("to:", "cc:", "bcc:")))


def outside_hours(callback: dict, queues: dict | None) -> str | None:
    """A problem if the callback window is not within its queue's opening hours (None if it is)."""
    if not queues or callback.get("queue") not in queues:
        return None
    queue = queues[callback["queue"]]
    start, end = callback["start"], callback["end"]
    # every quarter hour of the window, and its last minute, must be open
    moments, t = [], start
    while t < end:
        moments.append(t)
        t += timedelta(minutes=15)
    moments.append(end - timedelta(minutes=1))
    closed = [m for m in moments if not queue.is_open(m)]
    if closed:
        local = closed[0].astimezone(queue.tz)
        return (
            f"callback {callback['number']} ({start.astimezone(queue.tz):%a %d %b %H:%M}–"
            f"{end.astimezone(queue.tz):%H:%M} {queue.timezone}) is outside {queue.name}'s hours "
            f"{queue.hours_label()}: closed at {local:%a %H:%M}"
        )
    return None
