"""One renderer for rich replies: Jinja2 templates in bot/actions/templates/.

Plain replies are Rasa responses (domain); rich ones (quotes, invoice summaries, subscription
summaries) are templates rendered here, so wording lives in one place and not in the actions.
Templates render Markdown-ish plain text that every channel shows (the gateway turns it into
Slack mrkdwn or widget markup).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"
PHONE = "1-800-667-6389"


def _date(value: date | datetime | None) -> str:
    """2026-12-02 -> 'Dec 2, 2026'."""
    if value is None:
        return ""
    return f"{value:%b} {value.day}, {value.year}"


_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=False,  # plain text for chat; channels escape for their own markup
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)
_env.filters["date"] = _date
_env.globals["PHONE"] = PHONE


def render(name: str, **context: Any) -> str:
    """Render ``templates/<name>.txt``; surrounding blank lines are trimmed."""
    return _env.get_template(f"{name}.txt").render(**context).strip()


def buttons(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    """[("Yes", "/affirm"), ...] -> Rasa buttons."""
    return [{"title": title, "payload": payload} for title, payload in pairs]


def payload(intent: str, **entities: object) -> str:
    """A button's payload in Rasa's form, ``/intent{"entity":"value"}``, with the values JSON-encoded
    (a product or id can never break out of its string); None values are left out."""
    given = {name: value for name, value in entities.items() if value is not None}
    return f"/{intent}" + (json.dumps(given, separators=(",", ":")) if given else "")


def payload_entities(text: str) -> dict[str, object]:
    """The entities of a payload written as ``/intent{...}``; {} for typed text or a malformed one."""
    head, brace, rest = text.partition("{")
    if not head.startswith("/") or not brace:
        return {}
    try:
        found = json.loads(brace + rest)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
