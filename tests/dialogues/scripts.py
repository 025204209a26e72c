"""Loading and checking the dialogue scripts (tests/dialogues/*.yml; the format is in README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .outcome import KEYS

HERE = Path(__file__).resolve().parent
WHO = {
    "alex": "alex@acme.example",
    "priya": "priya@acme.example",
    "sam": "sam@acme.example",
    "olivia": "olivia@bluebird.example",
    "tom": "tom@bluebird.example",
    "visitor": None,
}
ROLES = {
    "alex": "enterprise_admin",
    "priya": "enterprise_admin",
    "sam": "no_manage_billing",
    "olivia": "essentials_admin",
    "tom": "no_manage_billing",
    "visitor": "visitor",
}
CHANNELS = ("widget", "test")
SCRIPT_KEYS = {"id", "who", "channel", "turns", "outcome", "note", "metadata"}
TURN_KEYS = {
    "user",
    "press",
    "optional",
    "expect_any",
    "expect_none",
    "expect_all",
    "buttons_any",
    "buttons_none",
    "max_messages",
}


class ScriptError(ValueError):
    """A script file that does not follow the format (the message names the file and script)."""


@dataclass(frozen=True)
class Script:
    id: str
    topic: str  # the file's name: licenses, invoices, ...
    who: str
    channel: str
    turns: tuple[dict[str, Any], ...]
    outcome: dict[str, Any]
    metadata: dict[str, Any]
    note: str = ""

    @property
    def email(self) -> str | None:
        return WHO[self.who]

    @property
    def role(self) -> str:
        return ROLES[self.who]


def _check(raw: dict, where: str) -> None:
    if not isinstance(raw, dict) or "id" not in raw:
        raise ScriptError(f"{where}: every script is a mapping with an id")
    where = f"{where} {raw['id']}"
    if extra := set(raw) - SCRIPT_KEYS:
        raise ScriptError(f"{where}: unknown keys {sorted(extra)}")
    if raw.get("who", "alex") not in WHO:
        raise ScriptError(f"{where}: who is one of {sorted(WHO)}")
    if raw.get("channel", "test") not in CHANNELS:
        raise ScriptError(f"{where}: channel is one of {CHANNELS}")
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScriptError(f"{where}: turns must be a non-empty list")
    for i, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or len({"user", "press"} & set(turn)) != 1:
            raise ScriptError(f"{where} turn {i}: exactly one of user or press")
        if extra := set(turn) - TURN_KEYS:
            raise ScriptError(f"{where} turn {i}: unknown keys {sorted(extra)}")
        if "optional" in turn and "press" not in turn:
            raise ScriptError(f"{where} turn {i}: optional is for press turns only")
        if "max_messages" in turn and not (isinstance(turn["max_messages"], int) and turn["max_messages"] > 0):
            raise ScriptError(f"{where} turn {i}: max_messages is a positive whole number")
        for key in TURN_KEYS - {"user", "press", "optional", "max_messages"}:
            if key in turn and not (isinstance(turn[key], list) and all(isinstance(w, str) for w in turn[key])):
                raise ScriptError(f"{where} turn {i}: {key} is a list of strings")
    if extra := set(raw.get("outcome") or {}) - KEYS:
        raise ScriptError(f"{where}: unknown outcome keys {sorted(extra)} (known: {sorted(KEYS)})")


def load(directory: Path = HERE) -> list[Script]:
    scripts: list[Script] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yml")):
        for raw in yaml.safe_load(path.read_text()) or []:
            _check(raw, path.name)
            if raw["id"] in seen:
                raise ScriptError(f"{path.name}: id {raw['id']} is used twice")
            seen.add(raw["id"])
            scripts.append(
                Script(
                    id=str(raw["id"]),
                    topic=path.stem,
                    who=raw.get("who", "alex"),
                    channel=raw.get("channel", "test"),
                    turns=tuple(raw["turns"]),
                    outcome=dict(raw.get("outcome") or {}),
                    metadata=dict(raw.get("metadata") or {}),
                    note=str(raw.get("note") or ""),
                )
            )
    return scripts
