"""Chat with the assistant in the terminal, as one of the demo users: `make shell [AS=sam]`.

Talks to Rasa through the gateway's channel, exactly as the gateway will, with a demo identity
in the message metadata. Buttons are numbered: type the number to press one.
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
import uuid

import httpx

from bot.nlu.text_hygiene import clean

from .gateway.rasa import NO_TEXT
from .runner import DEFAULT_GATEWAY_TOKEN, ROOT, Stack

DEMO_USERS = {
    "alex": ("alex@acme.example", "Alex Rivera", "Acme Corp, Enterprise; billing admin"),
    "priya": ("priya@acme.example", "Priya Shah", "Acme Corp; Manage Billing"),
    "sam": ("sam@acme.example", "Sam Lee", "Acme Corp; no Manage Billing"),
    "olivia": ("olivia@bluebird.example", "Olivia Byrne", "Bluebird Bakery, Essentials; billing admin"),
    "tom": ("tom@bluebird.example", "Tom Walsh", "Bluebird Bakery; no Manage Billing"),
    "visitor": (None, None, "an anonymous website visitor"),
}


def show(messages: list[dict]) -> list[dict]:
    """Print the bot's messages; return the buttons offered last (numbered from 1)."""
    offered: list[dict] = []
    for message in messages:
        if message.get("text"):
            for i, paragraph in enumerate(message["text"].split("\n")):
                lead = "bot> " if i == 0 else "     "
                print(textwrap.fill(paragraph, 100, initial_indent=lead, subsequent_indent="     ")
                      if paragraph else "")
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
    sys.exit(main())
