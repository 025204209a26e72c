"""A conversation from Rasa's tracker store as a conversation test (the format of
tests/conversations/*.yml, which ``rasa test core --stories`` runs end to end).

Each of the conversation's sessions is one story; its steps, in the tracker's order:
- ``user``: the text as the NLU read it (redacted again, on one line, brackets as parentheses) with
  the entities it found written in as annotations, and ``intent``: the reviewer's label where the
  message has one (console_messages.label), else what the NLU predicted (the full retrieval intent
  for FAQ questions, ``faq/<question>``, as the tests name them);
- ``action``: every action the assistant ran (not ``action_listen`` or the session's start, which
  Rasa's test runner implies);
- ``slot_was_set`` and ``active_loop``: what actions and forms set, as the tests state it, so that
  the test replays the same state (values redacted; the session's metadata slot, which carries the
  customer's identity, is left out).
A handoff's stretch (between Rasa's ``pause`` and ``resume``: the customer talking to a person) is
left out: Rasa predicted nothing there, and a test would expect it to. Bot utterances are not steps
(the action that sent them is).

The actions are the ones the assistant took. Where it went wrong (the reason the conversation is
in the review inbox), the saved test fails until the story says what it should have done and the
model does it: the file's header says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.console.data.files import staged, sync_folder
from bot.console.data.nlu_files import load_yaml
from bot.console.data.training_line import BRACKETS, one_line, single_line
from bot.nlu.cards import redact, redact_value

SKIPPED_ACTIONS = frozenset({"action_listen", "action_session_start", "action_extract_slots"})
SKIPPED_SLOTS = frozenset({"session_started_metadata"})
# Written plain: a name that YAML 1.1 (PyYAML) and 1.2 (Rasa's ruamel) both read as that string
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_/\-.]*$")
_YAML_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})
_UNWRITABLE = re.compile(r"[\[\](){}]")


@dataclass
class Story:
    name: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_user(self) -> bool:
        return any("user" in s or "intent" in s for s in self.steps)


def stories(events: Iterable[tuple[int, str, Mapping[str, Any]]], labels: Mapping[int, str], name: str) -> list[Story]:
    """The sessions of a conversation's events (Rasa's ``events`` rows: id, type name, data) as
    stories; ``labels`` maps a user event's id to the reviewer's intent."""
    sessions: list[Story] = []
    current = Story(name)
    paused = False
    for event_id, kind, data in events:
        if kind in ("session_started", "restart"):
            sessions.append(current)
            current, paused = Story(name), False
        elif kind == "pause":
            paused = True
        elif kind == "resume":
            paused = False
        elif paused:
            continue
        elif kind == "user" and (step := _user_step(data, labels.get(event_id))):
            current.steps.append(step)
        elif kind == "action" and isinstance(data.get("name"), str) and data["name"] not in SKIPPED_ACTIONS:
            current.steps.append({"action": data["name"]})
        elif kind == "slot" and isinstance(data.get("name"), str) and data["name"] not in SKIPPED_SLOTS:
            current.steps.append({"slot_was_set": [{data["name"]: redact_value(data.get("value"))}]})
        elif kind == "active_loop":
            loop = data.get("name")
            current.steps.append({"active_loop": loop if isinstance(loop, str) else None})
    sessions.append(current)
    kept = [s for s in sessions if s.has_user]
    for number, story in enumerate(kept, 1):
        if len(kept) > 1:
            story.name = f"{name}, session {number}"
    return kept


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _user_step(data: Mapping[str, Any], label: str | None) -> dict[str, Any]:
    parse = _dict(data.get("parse_data"))
    step: dict[str, Any] = {}
    text = str(data.get("text") or "")
    redacted, cards = redact(text)
    # entity offsets are the NLU's, in the text it read: kept only where that is the text written
    found = parse.get("entities")
    entities = found if isinstance(found, list) and not cards and parse.get("text", text) == text else []
    written = single_line(annotated(redacted.translate(BRACKETS), entities))
    if written:
        step["user"] = written
    intent = label or _predicted(parse)
    if intent:
        step["intent"] = intent
    return step


def _predicted(parse: Mapping[str, Any]) -> str | None:
    name = _dict(parse.get("intent")).get("name")
    if not isinstance(name, str):
        return None
    full = _dict(_dict(_dict(parse.get("response_selector")).get(name)).get("response")).get("intent_response_key")
    return full if isinstance(full, str) and full.startswith(f"{name}/") else name


def annotated(text: str, entities: list[Any]) -> str:
    """``text`` with Rasa entity dicts (start, end, entity, value) written in as annotations:
    ``[5](quantity)`` where the value is the text, ``[Inbox]{"entity": "product", "value": "inbox"}``
    where it differs (as a string: Rasa's test compares predicted values as strings). Overlapping,
    out-of-range and unwritable ones (a bracket or brace in them) are left out."""
    spans = []
    for e in entities:
        if not isinstance(e, dict):
            continue
        start, end, name, value = e.get("start"), e.get("end"), e.get("entity"), str(e.get("value"))
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(name, str)):
            continue
        if not (0 <= start < end <= len(text)) or not re.fullmatch(r"\w+", name):
            continue
        if _UNWRITABLE.search(value) or _UNWRITABLE.search(text[start:end]):
            continue
        spans.append((start, end, name, value))
    out, last = [], 0
    for start, end, name, value in sorted(spans):
        if start < last:
            continue
        piece = text[start:end]
        mark = f"({name})" if value == piece else json.dumps({"entity": name, "value": value})
        out += [text[last:start], f"[{piece}]{mark}"]
        last = end
    return "".join(out) + text[last:]


def _scalar(value: Any) -> str:
    """A YAML scalar: a plain name as it is, anything else as JSON (valid YAML, ASCII-escaped)."""
    if isinstance(value, str) and _NAME.match(value) and value.casefold() not in _YAML_WORDS:
        return value
    return json.dumps(value)


def render(found: list[Story], *, reviewer: str, at: datetime) -> str:
    who = one_line(reviewer) or "a reviewer"
    out = [
        'version: "3.1"\n\n',
        f"# Saved from the staff console by {who} on {at:%Y-%m-%d}. The actions are those the assistant\n",
        "# took: where it went wrong, change them to what it should do (and teach it) before committing.\n",
        "stories:\n",
    ]
    for story in found:
        out.append(f"  - story: {json.dumps(story.name)}\n    steps:\n")
        for step in story.steps:
            if "user" in step:
                out.append(f"      - user: |\n          {step['user']}\n")
                if "intent" in step:
                    out.append(f"        intent: {_scalar(step['intent'])}\n")
            elif "intent" in step:
                out.append(f"      - intent: {_scalar(step['intent'])}\n")
            elif "action" in step:
                out.append(f"      - action: {_scalar(step['action'])}\n")
            elif "active_loop" in step:
                out.append(f"      - active_loop: {_scalar(step['active_loop'])}\n")
            else:
                ((slot, value),) = step["slot_was_set"][0].items()
                out.append(f"      - slot_was_set:\n          - {_scalar(slot)}: {_scalar(value)}\n")
    content = "".join(out)
    if _read_back(content) != [[_expected(s) for s in story.steps] for story in found]:
        raise ValueError("the conversation test did not read back as written")
    return content


def _expected(step: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"{v}\n" if k == "user" else v) for k, v in step.items()}


def _read_back(content: str) -> list[list[dict[str, Any]]]:
    data = load_yaml(content)
    return [story["steps"] for story in data["stories"]]


def file_stem(name: str) -> str:
    """A safe file name from a test's name: "test_" and lower-case letters, digits and "_" (at most
    60 of them); "" when nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")[:60].strip("_")
    return f"test_{slug}" if slug else ""


def write_new(folder: Path, stem: str, content: str) -> Path:
    """Write ``content`` to ``<stem>.yml`` in ``folder``, or ``<stem>_2.yml``... if that exists: never
    over an existing file, even when two reviewers save at once (the file appears whole, by a hard
    link from a temporary file, which fails where the name is taken)."""
    tmp = staged(folder, stem, content)
    try:
        for number in range(1, 1000):
            target = folder / (f"{stem}.yml" if number == 1 else f"{stem}_{number}.yml")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)
                sync_folder(folder)
                return target
        raise FileExistsError(f"{stem}.yml and 998 more names are taken in {folder}")
    finally:
        tmp.unlink()
