"""Support cases: open one (``support_form`` takes the description, then ``action_open_case``)
and follow them (``action_case_status``).

The description is what the customer said beyond the request words ("open a support case:
invoice INV-1042 charged us for 45 seats ..." -> "invoice INV-1042 charged us for 45 seats ...";
"our last invoice charged us twice, this is wrong" is all description); the form asks only when
there is none. "I just told you, ..." is not a new description: it goes with what was said before,
and once a case is open in the conversation, it is added to that case (billing keeps it as a note)
rather than opening another. Any member of a customer org may open and follow cases; an anonymous
visitor can't (the form asks nothing of them, and ``action_open_case`` offers a person or asks
them to log in). "When will someone reply?" after a handoff: bot/actions/handoff.py's expectation.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.billing_client import ActingClient

from ._base import BillingAction
from ._form_answers import QUESTIONS, AskAction, latest, requested
from ._identity import Identity, identity
from ._render import buttons, render
from ._tasks import completed
from .faq import queue_hours
from .handoff import customer_now, expectation, open_handoff_of

CASE_NUMBER = re.compile(r"\bCS[-\s]?(\d{3,})\b", re.IGNORECASE)
URGENT = re.compile(
    r"\b(urgent(ly)?|asap|emergency|critical|immediately|right away|production is down|"
    r"(is|are|went) down|outage)\b",
    re.IGNORECASE,
)
HIGH = re.compile(r"\b(high priority|important|as soon as possible|quickly|blocking|blocked)\b", re.IGNORECASE)
CASE_WORDS = re.compile(r"\b(case|ticket)s?\b", re.IGNORECASE)
VISITOR_OPTIONS = buttons(("Talk to a person", "/talk_to_human"), ("Call me back", "/request_callback"))
MIN_DESCRIPTION = 8  # characters
# The request around a description: "please open a support case for me: ...", "I need to raise a ticket about ...".
REQUEST = re.compile(
    r"^\W*(?:(?:hi|hello|hey)\b\W*)?(?:(?:please|pls|plz|can you|could you|would you|i'?d like to|i want to|i need to|"
    r"we need to|we want to|i'?d like you to|let'?s|help me)\s+)*(?:open|create|file|log|raise|submit|start|make)\s+"
    r"(?:me\s+)?(?:a|an|the|one|new)?\s*(?:new\s+)?(?:support\s+|tech(?:nical)?\s+)?(?:case|ticket|request|issue)"
    r"(?:\s+(?:for me|for us|with (?:you|support|your support team)))?\s*(?:please\b)?"
    r"\s*(?:about|regarding|re|for|on|because|saying|that|[:,.;!—–-])*\s*",
    re.IGNORECASE,
)
RESTATED = re.compile(
    r"^\W*(?:(?:i|we) (?:just |already )?(?:told|said|explained|wrote|mentioned)(?: (?:you|it|this|that))*"
    r"|as i (?:said|mentioned|told you|wrote)|like i said|again)\b[\s,:.;!-]*",
    re.IGNORECASE,
)
VAGUE = re.compile(
    r"^(?:(?:i|we) (?:have|got|am having|are having|'?ve got) (?:a|an|some) (?:problem|issue|question|bug)s?"
    r"(?: with (?:my|our|the) (?:account|org|subscription|app))?|something(?:'s| is) (?:broken|wrong|not working)"
    r"|support|help|urgent|it'?s urgent|(?:tech(?:nical)?\s+)?support please|please)\W*$",
    re.IGNORECASE,
)

# A question about how to reach support is no problem to open a case about ("what's the support
# phone number?", "how do I contact support?"): the form's question gives the number and offers a case.
REACH = re.compile(
    r"^\W*(?:what(?:'?s| is| are)?|how(?: do| can| would)?|where|when|is there|do you have|can i get|"
    r"who)\b.*\b(?:phone|number|call|e-?mail|address|hours|(?:are you|is it|is support) open|reach|"
    r"contact|get (?:hold|in touch))\b",
    re.IGNORECASE,
)

# When support is open ("what are your customer service hours?", "is support around on saturdays?")
# is no problem to open a case about either: the form's question then starts with the support
# queue's hours. Words of time inside a problem ("it has been down for 3 hours", "when I log in it
# crashes") are a description, so only a question's opening or a named kind of hours counts.
WHEN_OPEN = re.compile(
    r"^\W*(?:(?:when|what time)\s+(?:is|are|does|do|can|could|will|should|would)\b"
    r"|(?:till|until)\s+(?:when|what time)\b"
    r"|(?:is|are)\s+(?:you|support|customer\s+(?:service|support|care)|the\s+(?:support|help)\s*desk|your\s+"
    r"(?:support\s+)?(?:team|people|agents)|anyone|anybody|someone|somebody)\b[^.?!]*"
    r"\b(?:open|available|around|staffed|working|there)\b)"
    r"|\b(?:opening|business|office|support|service|working|your|their)\s+hours\b"
    r"|\bhours\s+of\s+(?:operation|business|support|service)\b",
    re.IGNORECASE,
)

FILLER = {
    "support",
    "please",
    "pls",
    "it's",
    "its",
    "it",
    "is",
    "urgent",
    "urgently",
    "asap",
    "help",
    "now",
    "tech",
    "technical",
    "team",
    "thanks",
    "thank",
    "you",
    "hi",
    "hello",
    "hey",
    "need",
    "i",
    "we",
    "a",
    "the",
    "case",
    "ticket",
    "contact",
    "get",
    "me",
    "us",
    "our",
    "my",
    "your",
    "want",
    "to",
    "with",
    "for",
    "right",
    "away",
    "report",
    "bug",
    "problem",
    "issue",
    "an",
    "have",
    "there",
    "some",
    # feelings are no description: "ugh, this is so frustrating" is asked what happened
    "ugh",
    "argh",
    "so",
    "this",
    "that",
    "really",
    "very",
    "frustrating",
    "frustrated",
    "annoying",
    "annoyed",
    "terrible",
    "awful",
    "useless",
    "ridiculous",
    "wtf",
    "omg",
    "seriously",
    "i'm",
    "im",
    "am",
    "fed",
    "up",
    "sick",
    "tired",
    "of",
    "hate",
    "angry",
    "upset",
    "disappointed",
    "unacceptable",
    "bad",
    "worst",
    "not",
    "happy",
    "what",
    "why",
    "come",
    "on",
    "again",
    "just",
    "all",
    "everything",
    "too",
    "much",
    "stupid",
}


def description_in(text: str) -> str:
    """What ``text`` says beyond the request words and an "I just told you" ('' when nothing)."""
    text = RESTATED.sub("", text.strip(), count=1)
    text = REQUEST.sub("", text, count=1).strip()
    text = RESTATED.sub("", text, count=1).strip()
    content = [w for w in re.findall(r"[\w'-]+", text.lower()) if w not in FILLER]
    if (
        len(text) < MIN_DESCRIPTION
        or VAGUE.match(text)
        or REACH.match(text)
        or WHEN_OPEN.search(text)
        or len(content) < 2
    ):
        return ""
    return text[:1].upper() + text[1:] if text[:1].islower() and not re.match(r"[a-z]+[-_]?\d", text) else text


def restated(text: str) -> bool:
    return bool(RESTATED.match(text or ""))


def user_texts_since(tracker: Tracker, intent: str, limit: int = 6) -> list[str]:
    """The user's texts from the latest message with ``intent`` on (at most ``limit``)."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        texts.append(event.get("text") or "")
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == intent or len(texts) >= limit:
            break
    return list(reversed(texts))


def priority_of(texts: list[str]) -> str:
    joined = " ".join(texts)
    if URGENT.search(joined):
        return "urgent"
    if HIGH.search(joined):
        return "high"
    return "normal"


def subject_of(description: str) -> str:
    """The first sentence, at most 80 characters."""
    first = re.split(r"(?<=[.!?])\s", description.strip(), maxsplit=1)[0]
    return first if len(first) <= 80 else first[:77].rstrip() + "..."


class ValidateSupportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_support_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # A visitor can't open a case: ask nothing, action_open_case explains.
        return domain_slots if identity(tracker).known else []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not identity(tracker).known:
            return [SlotSet("requested_slot", None)]
        text, intent, _ = latest(tracker)
        asked = requested(tracker, "support_form") == "case_description"
        if (
            asked
            and (intent in QUESTIONS or intent in ("deny", "talk_to_human", "request_callback"))
            and not restated(text)
        ):
            return []  # its rule answers; the form asks again (or stops)
        found = description_in(text)
        if asked and not found:
            return [SlotSet("people_invalid", "case_description")]
        if not found:
            return []
        # An answer to "describe the problem" keeps what the request itself said, however little.
        earlier = (
            [
                d
                for d in (description_in(t) or _remainder(t) for t in user_texts_since(tracker, "contact_support")[:-1])
                if d and d not in found
            ]
            if asked
            else []
        )
        return [SlotSet("case_description", " ".join([*earlier, found])[:10_000])]


def _remainder(text: str) -> str:
    """The request's own words beyond "open a case", even when too vague to stand alone."""
    rest = REQUEST.sub("", RESTATED.sub("", text.strip(), count=1), count=1).strip(" .!?")
    return rest if len(rest.split()) >= 3 and not VAGUE.match(rest) else ""


class AskCaseDescription(AskAction):
    """Asks for the problem; first gives the support queue's hours when the request asked when support is open."""

    slot = "case_description"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, invalid: bool) -> None:
        if invalid:
            dispatcher.utter_message(response="utter_case_description_too_short")
        elif WHEN_OPEN.search(latest(tracker)[0]):
            dispatcher.utter_message(response="utter_ask_case_description_hours", hours=queue_hours("support"))
        else:
            dispatcher.utter_message(response="utter_ask_case_description")


class ActionOpenCase(BillingAction):
    def name(self) -> str:
        return "action_open_case"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]:
        if not who.known:
            dispatcher.utter_message(text=render("basics/case_visitor"), buttons=VISITOR_OPTIONS)
            return []
        description = tracker.get_slot("case_description")
        if not description:
            dispatcher.utter_message(response="utter_ok_nothing_done")
            return []
        opened = tracker.get_slot("case_number")
        if opened and restated(latest(tracker)[0]):
            # "I just told you, ..." right after a case was opened: the same problem, told again.
            case = await client.add_case_note(opened, description)
            dispatcher.utter_message(text=render("basics/case_note_added", case=case, note=description))
            return [SlotSet("case_description", None)]
        priority = priority_of(user_texts_since(tracker, "contact_support"))
        case = await client.open_case(subject_of(description), description, priority)
        dispatcher.utter_message(
            text=render("basics/case_opened", case=case, email=who.email), **completed("case_opened")
        )
        return [SlotSet("case_description", None), SlotSet("case_number", case.number)]

    def on_error(self, error, tracker: Tracker) -> list[EventType]:
        return [SlotSet("case_description", None)]


class ActionCaseStatus(BillingAction):
    def name(self) -> str:
        return "action_case_status"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        who: Identity,
        client: ActingClient,
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        asked = CASE_NUMBER.search(text)
        handoff = None if asked or CASE_WORDS.search(text) else await open_handoff_of(tracker, who, client)
        if handoff is not None:  # "when will someone reply?" while a person is on the way
            _, when = expectation(handoff.queue, await customer_now(tracker, who, client))
            dispatcher.utter_message(
                text=render("basics/handoff_pending", handoff=handoff, when=when),
                buttons=buttons(("Call me back instead", "/request_callback")),
            )
            return []
        if not who.known:
            dispatcher.utter_message(
                text=render("errors/not_signed_in", code="no_acting_user"), buttons=VISITOR_OPTIONS
            )
            return []
        if asked:
            cases = [await client.case(f"CS-{asked.group(1)}")]
        else:
            cases = await client.cases(open_only=False)
        dispatcher.utter_message(
            text=render("basics/case_status", cases=cases, specific=bool(asked)),
            buttons=[] if cases else buttons(("Open a case", "/contact_support")),
        )
        return []
