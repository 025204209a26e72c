"""Block Kit for the queue channel: the handoff's summary with Claim, then who has it (Close),
then closed. Everything the customer wrote is escaped (a visitor can't ping @channel or forge
links) and has its card numbers removed (``Notice.from_json``), whatever the caller sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.nlu.cards import redact_shown

from ..slack.blocks import escape

CLAIM_ACTION = "handoff_claim"
CLOSE_ACTION = "handoff_close"
Block = dict[str, Any]


@dataclass(frozen=True)
class Notice:
    """What the action server tells the gateway about a new handoff (POST /handoff/internal/opened)."""

    number: str
    conversation_id: str
    queue: str
    reason: str
    channel: str
    intent: str | None = None
    org: str | None = None
    edition: str | None = None
    page_url: str | None = None
    email: str | None = None  # a known customer's (verified by the channel): billing shows them their handoff
    lead: dict[str, str] = field(default_factory=dict)
    transcript: tuple[dict[str, str], ...] = ()

    @classmethod
    def from_json(cls, body: object) -> Notice:
        if not isinstance(body, dict):
            raise ValueError("a JSON object")

        def text(key: str, limit: int, free: bool = True) -> str | None:
            """The field as text; ``free``: words someone wrote, card numbers removed (not ids)."""
            value = body.get(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str | int):
                raise ValueError(f"{key}: text")
            return (redact_shown(str(value))[0] if free else str(value))[:limit]

        def required(key: str, limit: int) -> str:
            """An id that must be there."""
            value = text(key, limit, free=False)
            if value is None:
                raise ValueError(f"{key} is required")
            return value

        lead = body.get("lead")
        lead = lead if isinstance(lead, dict) else {}
        said = body.get("transcript")
        said = said if isinstance(said, list) else []
        return cls(
            number=required("number", 40),
            conversation_id=required("conversation_id", 200),
            queue=required("queue", 20),
            reason=text("reason", 300) or "",
            channel=text("channel", 20, free=False) or "",
            intent=text("intent", 80),
            org=text("org", 200),
            edition=text("edition", 80),
            page_url=text("page_url", 2000),
            email=text("email", 320, free=False),
            lead={
                k: redact_shown(str(v))[0][:200]
                for k, v in lead.items()
                if k in ("name", "email", "company", "phone") and v
            },
            transcript=tuple(
                {"from": str(t.get("from"))[:10], "text": redact_shown(str(t.get("text")))[0][:300]}
                for t in said[-20:]
                if isinstance(t, dict) and t.get("text")
            ),
        )

    @property
    def customer(self) -> str:
        return self.lead.get("name") or self.org or "A customer"


def _field(label: str, value: str | None) -> Block | None:
    return {"type": "mrkdwn", "text": f"*{label}*\n{escape(value)}"} if value else None


def summary_blocks(n: Notice, queue_title: str, *, open_now: bool, hours: str) -> list[Block]:
    who = n.lead
    fields = [
        f
        for f in (
            _field("Queue", queue_title),
            _field("Reason", n.reason),
            _field("Intent", n.intent),
            _field("Org", n.org),
            _field("Edition", n.edition),
            _field("Channel", n.channel),
            _field(
                "Contact",
                ", ".join(x for x in (who.get("name"), who.get("email"), who.get("company"), who.get("phone")) if x)
                or None,
            ),
            _field("Page", n.page_url),
        )
        if f
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{queue_title} handoff {n.number}"[:150]}},
        {"type": "section", "fields": fields[:10]},
    ]
    if n.transcript:
        lines = [f"*{'Customer' if t['from'] == 'user' else 'Bot'}:* {escape(t['text'])}" for t in n.transcript]
        while len("\n".join(lines)) > 2900:  # Slack's section limit: the oldest lines go
            lines.pop(0)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if not open_now:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f":crescent_moon: Out of hours ({escape(hours)}): the customer was offered the "
                        "phone line and a callback.",
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": f"handoff:{n.number}",
            "elements": [
                {
                    "type": "button",
                    "action_id": CLAIM_ACTION,
                    "text": {"type": "plain_text", "text": "Claim"},
                    "style": "primary",
                    "value": n.number,
                }
            ],
        }
    )
    return blocks


def _without_actions(blocks: list[Block]) -> list[Block]:
    return [
        b for b in blocks if b.get("type") != "actions" and not str(b.get("block_id", "")).startswith("handoff_state")
    ]


def claimed_blocks(blocks: list[Block], number: str, rep: str) -> list[Block]:
    return _without_actions(blocks) + [
        {
            "type": "section",
            "block_id": "handoff_state",
            "text": {
                "type": "mrkdwn",
                "text": f":white_check_mark: Claimed by <@{rep}>. Reply in this thread to talk "
                "to the customer; *close* (or the button) hands them back to the bot.",
            },
        },
        {
            "type": "actions",
            "block_id": f"handoff_close:{number}",
            "elements": [
                {
                    "type": "button",
                    "action_id": CLOSE_ACTION,
                    "text": {"type": "plain_text", "text": "Close"},
                    "value": number,
                }
            ],
        },
    ]


def closed_blocks(blocks: list[Block], rep: str) -> list[Block]:
    return _without_actions(blocks) + [
        {
            "type": "context",
            "block_id": "handoff_state_closed",
            "elements": [
                {"type": "mrkdwn", "text": f":lock: Closed by <@{rep}>; the assistant has the conversation again."}
            ],
        }
    ]
