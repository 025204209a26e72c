"""Chat with the assistant in the terminal, as one of the demo users: `make shell [AS=sam]`.

Talks to Rasa through the gateway's channel, exactly as the gateway will, with a demo identity
in the message metadata. Buttons are numbered: type the number to press one.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
import uuid

import httpx

from bot.gateway.rasa import NO_TEXT
from bot.launch.runner import DEFAULT_GATEWAY_TOKEN, ROOT, Stack
from bot.nlu.text_hygiene import clean

DEMO_USERS = {
    "alex": ("alex@acme.example", "Alex Rivera", "Acme Corp, Enterprise; billing admin"),
    "priya": ("priya@acme.example", "Priya Shah", "Acme Corp; Manage Billing"),
    "sam": ("sam@acme.example", "Sam Lee", "Acme Corp; no Manage Billing"),
    "olivia": ("olivia@bluebird.example", "Olivia Byrne", "Bluebird Bakery, Essentials; billing admin"),
    "tom": ("tom@bluebird.example", "Tom Walsh", "Bluebird Bakery; no Manage Billing"),
    "visitor": (None, None, "an anonymous website visitor"),
}


LINK = re.compile(r"\[([^\]]+)\]\(((?:https?|mailto|tel):[^)\s]+)\)")
BOLD = re.compile(r"\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")


def terminal_text(text: str, *, styled: bool) -> str:
    """The bot's Markdown-ish text as a terminal shows it: [label](url) as "label (url)" ("label" alone
    when it is the address, a tel: link as its number), *bold* and **bold** in bold where the terminal
    has styles and plain otherwise."""

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        shown = url.removeprefix("tel:").removeprefix("mailto:")
        same = shown == label or (url.startswith("tel:") and re.sub(r"\D", "", shown) == re.sub(r"\D", "", label))
        return label if same else f"{label} ({shown})"

    def bold(match: re.Match[str]) -> str:
        inner = match.group(1) or match.group(2)
        return f"\033[1m{inner}\033[0m" if styled else inner

    return BOLD.sub(bold, LINK.sub(link, text))


def wrapped(paragraph: str, width: int = 100) -> str:
    """A paragraph wrapped for the terminal; a link is never cut (a cut URL copies as a broken one)."""
    return textwrap.fill(
        paragraph, width, initial_indent="", subsequent_indent="     ", break_long_words=False, break_on_hyphens=False
    )


def show(messages: list[dict], styled: bool | None = None) -> list[dict]:
    """Print the bot's messages; return the buttons offered last (numbered from 1)."""
    styled = sys.stdout.isatty() if styled is None else styled
    offered: list[dict] = []
    for message in messages:
        if message.get("text"):
            for i, paragraph in enumerate(terminal_text(message["text"], styled=styled).split("\n")):
                lead = "bot> " if i == 0 else "     "
                print(lead + wrapped(paragraph, 100 - len(lead)) if paragraph else "")
        if message.get("image"):
            print(f"bot> [image] {message['image']}")
        if message.get("buttons"):
            offered = message["buttons"]
            print("     " + "   ".join(f"[{i}] {b['title']}" for i, b in enumerate(offered, 1)))
    return offered


def chat(webhook: str, token: str, who: str) -> None:
    email, name, about = DEMO_USERS[who]
    sender = f"shell-{who}-{uuid.uuid4().hex[:8]}"
    metadata = {"channel": "shell", **({"identity": {"email": email, "name": name}} if email else {})}
    print(f"Chatting as {name or 'a visitor'} ({about}). Ctrl-D or /quit to leave.\n")
    buttons: list[dict] = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while True:
            try:
                typed = input("you> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return
            text = clean(typed)  # as the gateway does (bot/nlu/text_hygiene.py)
            if typed.strip() and not text:
                print(f"bot> {NO_TEXT}")
                continue
            if text in ("/quit", "/exit"):
                return
            if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            if not text:
                continue
            try:
                reply = client.post(webhook, json={"sender": sender, "message": text, "metadata": metadata})
                reply.raise_for_status()
            except httpx.HTTPError as exc:
                print(f"(the assistant did not answer: {exc})")
                continue
            buttons = show(reply.json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as", dest="who", default=os.environ.get("AS", "alex"), choices=sorted(DEMO_USERS))
    args = parser.parse_args()
    token = os.environ.get("GATEWAY_TOKEN", DEFAULT_GATEWAY_TOKEN)
    running = f"http://127.0.0.1:{os.environ.get('RASA_PORT', 5005)}/webhooks/gateway/webhook"
    try:
        if httpx.get(running.rsplit("/", 1)[0] + "/", timeout=1).status_code == 200:
            return chat(running, token, args.who)  # `make run` is up: use it
    except httpx.HTTPError:
        pass
    print("starting the assistant (about a minute; logs in data/shell/logs/) ...", flush=True)
    with Stack(data_dir=ROOT / "data" / "shell", gateway_token=token) as stack:
        chat(stack.webhook_url, token, args.who)


if __name__ == "__main__":
    main()
