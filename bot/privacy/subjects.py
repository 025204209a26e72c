""" "One customer", named the way the rest of the system names people, resolved to the conversations
(Rasa sender ids) held about them. Exactly one of:

- ``email``: a verified customer. Their widget conversation (``wu-`` + a keyed hash of the address,
  bot/gateway/widget/identity.py, so it is found without a scan), every conversation on any channel
  whose user turns carry that verified identity (Rasa stores it in each user event's metadata: Slack
  DMs, the shell), and every conversation with a rating recorded for that address.
- ``slack_user``: ``T0123:U0456`` (workspace and user id): that user's Slack conversation
  (``slack:<team>:<user>``, bot/gateway/slack/turns.py), e.g. a user whose email was not verified.
- ``conversation``: a sender id as the console shows it (an anonymous visitor's ``wv-...``).

Anything else is refused with a reason and nothing is read or changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.gateway.widget.identity import VisitorIds

from .stores import Conversations

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")
_SLACK = re.compile(r"^(T[A-Z0-9]{1,20}):([UW][A-Z0-9]{1,20})$")
_SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,200}$")
KINDS = ("email", "slack_user", "conversation")


class BadSubject(ValueError):
    """The request does not name one customer; ``str()`` says why."""


@dataclass(frozen=True)
class Subject:
    kind: str
    value: str

    @classmethod
    def parse(cls, given: object) -> Subject:
        if not isinstance(given, dict):
            raise BadSubject('subject: an object with one of "email", "slack_user" or "conversation"')
        named = [k for k in KINDS if given.get(k) not in (None, "")]
        unknown = sorted(set(given) - set(KINDS))
        if unknown:
            raise BadSubject(f"subject: unknown field {unknown[0]!r} (use one of {', '.join(KINDS)})")
        if len(named) != 1:
            raise BadSubject(f"subject: name exactly one of {', '.join(KINDS)}")
        kind = named[0]
        value = given[kind]
        if not isinstance(value, str):
            raise BadSubject(f"subject.{kind}: a string")
        value = value.strip()
        if kind == "email":
            value = value.lower()
            if len(value) > 254 or not _EMAIL.match(value):
                raise BadSubject("subject.email: not an email address")
        elif kind == "slack_user":
            if not _SLACK.match(value):
                raise BadSubject("subject.slack_user: TEAM:USER, e.g. T0123ABCD:U0456EFGH")
        elif not _SENDER.match(value):
            raise BadSubject("subject.conversation: a conversation id (letters, digits, _ . : @ -; at most 200)")
        return cls(kind, value)

    def senders(self, conversations: Conversations, visitor_ids: VisitorIds) -> list[str]:
        """The conversations held about this customer (candidates: stores may hold nothing of some)."""
        if self.kind == "conversation":
            return [self.value]
        if self.kind == "slack_user":
            return ["slack:" + self.value]
        found = {visitor_ids.user_sender(self.value)}
        found.update(conversations.senders_of_email(self.value))
        return sorted(found)
