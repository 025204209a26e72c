"""Block Kit in one place: Slack's text in, Rasa's messages out as blocks, and the views.

- ``from_slack``: what a person typed, cleaned (``bot.nlu.text_hygiene.clean``) and with Slack's
  markup undone (``<mailto:a@b|a@b>`` -> ``a@b``, ``&amp;`` -> ``&``, the bot's own @mention
  removed); with ``links=True`` (a rep's reply relayed to a customer) a link to a safe place
  stays a link, as ``[label](url)``.
- ``to_mrkdwn``: the assistant's Markdown-ish text as Slack mrkdwn (escaped, ``**b**`` -> ``*b*``,
  ``[label](url)`` -> ``<url|label>``).
- ``message_blocks``: one Rasa message (text, buttons, image, custom blocks) as blocks. Buttons
  become an actions block whose ``block_id`` names the user it was for. A money confirmation
  (the assistant's Yes/No to a quote or a payment) gets a primary "Yes" behind a confirm dialog
  and a danger "No".
- ``answered_blocks``: the same message after a click: its buttons replaced by what was chosen,
  so they cannot be pressed again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.nlu.text_hygiene import clean

from ..rasa import BotMessage, Button

BUTTON_ACTION = "rasa_button_{}"
BUTTON_ACTION_PATTERN = re.compile(r"^rasa_button_\d+$")
BLOCK_PREFIX = "rasa"
SECTION_MAX = 3000
FALLBACK_MAX = 3000
TITLE_MAX = 75
VALUE_MAX = 2000
BUTTONS_PER_BLOCK = 25
CONFIRM_TEXT_MAX = 300
YES, NO = "/affirm", "/deny"

Block = dict[str, Any]

# -- Slack -> text --------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
LINK_SCHEMES = ("http", "https", "mailto", "tel")


def pressed(body: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None, dict[str, Any], str | None]:
    """A block_actions payload's first action, the user who pressed it, the channel and the message
    it is on (the message's ts, or the container's where Slack sends no message)."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return (
        action,
        (body.get("user") or {}).get("id"),
        channel,
        message,
        message.get("ts") or container.get("message_ts"),
    )


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_link(target: str) -> str | None:
    """``target`` as a URL a customer may be sent to (http(s) with a host, mailto: with an
    address, tel: with a number), scheme in lower case; None for anything else."""
    scheme, colon, rest = unescape(target).strip().partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in LINK_SCHEMES or not rest or re.search(r"\s", rest):
        return None
    if scheme in ("http", "https") and not re.match(r"//[^/?#\s]+", rest):
        return None
    if scheme == "mailto" and "@" not in rest:
        return None
    if scheme == "tel" and not re.fullmatch(r"\+?[\d\-. ()]{3,30}", rest):
        return None
    # The widget's Markdown ends a link's URL at ")": the same URL, with the parentheses encoded.
    return f"{scheme}:{rest}".replace("(", "%28").replace(")", "%29")


def markdown_link(url: str, label: str) -> str:
    """``[label](url)``, with brackets in the label turned to parentheses so it stays one link."""
    label = re.sub(r"\s+", " ", label).strip().replace("[", "(").replace("]", ")")
    return f"[{label}]({url})"


def from_slack(text: str, bot_user_id: str | None = None, *, links: bool = False) -> str:
    """A person's message as plain text, the way they read it in Slack. ``links``: keep links to
    safe places (``LINK_SCHEMES``) as Markdown links; any other link shows as its text only."""
    text = clean(text or "")
    pieces, at = [], 0
    for match in _SLACK_LINK.finditer(text):
        pieces += [unescape(text[at : match.start()]), _shown(match.group(1), match.group(2), bot_user_id, links)]
        at = match.end()
    pieces.append(unescape(text[at:]))
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


def _shown(target: str, label: str | None, bot_user_id: str | None, links: bool) -> str:
    """What one ``<target|label>`` of Slack's markup reads as."""
    label = unescape(label or "").strip()
    if target.startswith("@"):  # a user: never a link
        return "" if bot_user_id and target[1:] == bot_user_id else f"@{label or target[1:]}"
    if target.startswith("#"):  # a channel
        return f"#{label or target[1:]}"
    if target.startswith("!"):  # @here, @channel, a user group
        return "@" + (label or target[1:].split("^")[0]).lstrip("@")
    target = unescape(target)
    bare = target.split(":", 1)[1] if target.lower().startswith(("mailto:", "tel:")) else target
    url = safe_link(target) if links else None
    return markdown_link(url, label or bare) if url else label or bare


# -- text -> Slack --------------------------------------------------------------------------------

_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|tel:|mailto:)[^)\s]+)\)")
_MD_BOLD = re.compile(r"\*\*(.+?)\*\*")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    """The assistant's text (templates write Markdown-ish plain text) as Slack mrkdwn."""
    text = escape(text or "")
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    return _MD_BOLD.sub(r"*\1*", text)


def plain(text: str, limit: int) -> Block:
    text = text or " "
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…", "emoji": True}


def _chunks(text: str, size: int = SECTION_MAX) -> list[str]:
    """Split at line ends into pieces Slack accepts in one section."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > size:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:size])
            line = line[size:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > size:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        pieces.append(current)
    return pieces


def section(text: str) -> list[Block]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in _chunks(to_mrkdwn(text))]


# -- Rasa message -> blocks -------------------------------------------------------------------------


def intent_of(payload: str) -> str:
    """``/affirm{"confirms":"quote:Q-5003"}`` -> ``/affirm``."""
    return payload.strip().partition("{")[0]


def is_money_confirmation(buttons: list[Button]) -> bool:
    """The assistant's Yes/No to a pending quote or payment (bot/actions/confirm.py): every one it
    asks is about money (an order or a charge), and its buttons carry what they confirm."""
    payloads = [str(b.get("payload", "")) for b in buttons]
    intents = {intent_of(p) for p in payloads if '"confirms"' in p}
    return YES in intents and NO in intents


def confirm_question(text: str) -> str:
    """What the confirm dialog asks: what is being bought or paid, what is charged, the question."""
    lines = [line.strip(" •") for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "Go ahead?"
    picked = [lines[0]] if not lines[0].endswith(":") else []  # "You have 2 open invoices:" says nothing here
    picked += [line for line in lines[1:-1] if line.lower().startswith(("charged now", "new monthly total"))]
    if len(lines) > 1 or not picked:
        picked.append(lines[-1])
    question = "\n".join(picked)
    return question if len(question) <= CONFIRM_TEXT_MAX else question[: CONFIRM_TEXT_MAX - 1] + "…"


def button_elements(buttons: list[Button], text: str) -> list[Block]:
    money = is_money_confirmation(buttons)
    elements = []
    for index, button in enumerate(buttons):
        payload = str(button.get("payload") or button.get("title") or "")[:VALUE_MAX]
        element: Block = {
            "type": "button",
            "action_id": BUTTON_ACTION.format(index),
            "text": plain(str(button.get("title") or payload), TITLE_MAX),
            "value": payload,
        }
        if money and intent_of(payload) == YES:
            element["style"] = "primary"
            element["confirm"] = {
                "title": plain("Please confirm", 100),
                "text": {"type": "mrkdwn", "text": to_mrkdwn(confirm_question(text))},
                "confirm": plain("Yes, go ahead", 30),
                "deny": plain("Not yet", 30),
                "style": "primary",
            }
        elif money and intent_of(payload) == NO:
            element["style"] = "danger"
        elements.append(element)
    return elements


def message_blocks(message: BotMessage, *, for_user: str) -> list[Block]:
    """One Rasa REST message as Block Kit; the buttons answer to ``for_user`` only."""
    custom = message.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("blocks"), list):
        return list(custom["blocks"])
    blocks: list[Block] = []
    text = str(message.get("text") or "")
    if text.strip():
        blocks += section(text)
    if isinstance(message.get("image"), str):
        blocks.append({"type": "image", "image_url": message["image"], "alt_text": "image"})
    buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
    elements = button_elements(buttons, text)
    for start in range(0, len(elements), BUTTONS_PER_BLOCK):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{BLOCK_PREFIX}:{for_user}:{start}",
                "elements": elements[start : start + BUTTONS_PER_BLOCK],
            }
        )
    return blocks


def fallback_text(message: Mapping[str, Any]) -> str:
    """The notification / screen-reader text of a message (Slack wants one with blocks): one of
    the bot's (``BotMessage``) or one Slack sent back (a clicked message)."""
    text = str(message.get("text") or "").strip()
    if not text:
        titles = [str(b.get("title")) for b in message.get("buttons") or [] if isinstance(b, dict)]
        text = " / ".join(titles) or "…"
    text = escape(text)
    return text if len(text) <= FALLBACK_MAX else text[: FALLBACK_MAX - 1] + "…"


def button_owner(block_id: str | None) -> str | None:
    """The Slack user a button block was posted for (``rasa:<user>:<n>``)."""
    parts = (block_id or "").split(":")
    return parts[1] if len(parts) == 3 and parts[0] == BLOCK_PREFIX else None


def answered_blocks(blocks: list[Block], chosen: str, user: str) -> list[Block]:
    """The clicked message with its buttons replaced by the choice (so nothing can be pressed twice)."""
    kept = [b for b in blocks or [] if b.get("type") != "actions"]
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<@{user}> chose *{escape(chosen)}*"}]})
    return kept


def note(text: str) -> list[Block]:
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": to_mrkdwn(text)}]}]
