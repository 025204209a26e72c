"""Which replies may be read by a whole channel.

Invoices and any account data go only to a DM. Rasa's replies carry no "private" flag, so the
gateway decides from what a reply holds, erring towards private: a reply is private when it names
an account object (invoice, order, quote, payment, case, handoff, callback or contract number),
an email address, a signed link, a money confirmation or a pay button, or speaks about "your"
invoices, balance, licenses, card, plan... Prices from the public catalog, FAQ answers,
greetings and "I can help with..." stay in the channel's thread.

An action can also say so itself: ``custom: {"private": true}`` (or false) on a message wins.
"""

from __future__ import annotations

import re

from ..rasa import BotMessage

ACCOUNT_NUMBER = re.compile(r"\b(?:INV|ORD|Q|PAY|CS|HO|CB|C)-\d+\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
SIGNED_LINK = re.compile(r"https?://\S+/(?:v1/|invoice-files|card|pay)\S*", re.I)
ABOUT_THE_ACCOUNT = re.compile(
    r"\b(?:your|you have|you now have|you owe|you're now on|you are now on)\b[^.\n]{0,40}?"
    r"\b(?:invoices?|balance|contract|licen[cs]es|seats|card|billing (?:address|contact|details|profile)|plan|"
    r"orders?|payments?|receipt|cases?|owe|due|total)\b",
    re.I,
)
PRIVATE_PAYLOADS = ("/affirm", "/deny", "/pay_invoice")


def is_private(message: BotMessage) -> bool:
    custom = message.get("custom")
    private = custom.get("private") if isinstance(custom, dict) else None
    if isinstance(private, bool):
        return private
    text = str(message.get("text") or "")
    if ACCOUNT_NUMBER.search(text) or EMAIL.search(text) or SIGNED_LINK.search(text) or ABOUT_THE_ACCOUNT.search(text):
        return True
    for button in message.get("buttons") or []:
        payload = str(button.get("payload", "")) if isinstance(button, dict) else ""
        if payload.startswith(PRIVATE_PAYLOADS) or ACCOUNT_NUMBER.search(payload):
            return True
    return False


def any_private(messages: list[BotMessage]) -> bool:
    return any(is_private(m) for m in messages)
