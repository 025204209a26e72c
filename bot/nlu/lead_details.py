"""A person's contact details in free text: name, company, work email, phone.

Customers write them every way: all at once ("I'm Dana Smith from Globex (dana@globex.example)"),
as a list ("Sam Carter, sam@initech.example, Initech"), one at a time, or as a correction
("actually my email is dana.smith@globex.example"). ``details_in`` finds what a message states;
``answer_to`` also takes a bare answer ("Dana Smith", "Globex") as the detail that was asked for.
Plain Python, no Rasa: tests/rasa_env/test_lead_text.py runs it over many phrasings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A link is neither a name nor a company: "https://evil.example/x" is no "Https" from "evil.example".
MARKUP = re.compile(r"[<>{}\[\]`]")  # no company name has these; markup and templates do
LINK = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)\S*", re.IGNORECASE)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A phone number is a run of digits with the usual separators; an id (INV-1042, ORD-5001) has
# letters glued to its digits and is not one.
PHONE_RUN = re.compile(r"(?<![\w@.-])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?![\w@])")
PHONE_CUE = re.compile(r"\b(phone|call|mobile|cell|number|tel|reach me)\b", re.IGNORECASE)

SKIP = re.compile(
    r"^\W*(no|nope|nah|none|n/?a|skip|pass|-)\W*$"
    r"|\b(skip( it| that| this)?|rather not|prefer not|i'?d rather|no thanks|no thank you|not (needed|necessary|now)"
    r"|no phone|without (a )?phone|email(\s+is|'s|\s+only)?\s*(fine|ok|okay|enough|better|works)|just (the )?e-?mail"
    r"|e-?mail only|(don'?t|do not) (have|want|need|give)|not comfortable|leave it (out|blank))\b",
    re.IGNORECASE,
)

_CAP = r"[A-Z][\w'’.-]*"
_NAME_WORDS = rf"{_CAP}(?:\s+(?:(?:van|von|de|da|del|der|le|la|di|bin|al)\s+)*{_CAP}){{0,3}}"
NAME_CUE = re.compile(rf"\b(?i:i'?m|i am|this is|it'?s|name'?s|here'?s)\s+({_NAME_WORDS})")
NAME_STRONG = re.compile(
    r"\b(?:my (?:full )?name is|name\s*[:=-]|call me|you can call me|the name is)\s+"
    r"([^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*){0,3})",
    re.IGNORECASE,
)
_COMPANY_WORDS = r"[A-Z0-9][\w&'’.-]*(?:\s+(?:&\s+|of\s+|and\s+)?[A-Z0-9][\w&'’.-]*){0,4}"
COMPANY_CUE = re.compile(rf"\b(?i:from|at|with)\s+({_COMPANY_WORDS})")
COMPANY_STRONG = re.compile(
    r"\b(?:(?:my|our|the) (?:company|organi[sz]ation|org|employer|business)(?:'s| is| name is|\s*[:=-])|company\s*[:=-]"
    r"|i work (?:at|for)|we work (?:at|for)|i'?m with|we'?re with|i represent|on behalf of)\s+"
    r"([\w&'’.-]+(?:\s+[\w&'’.-]+){0,4})",
    re.IGNORECASE,
)
# Words that end a name or company captured by a cue ("Dana Smith from ...", "Globex and we ...").
STOP = {
    "and",
    "from",
    "at",
    "with",
    "here",
    "in",
    "on",
    "we",
    "i",
    "our",
    "my",
    "the",
    "for",
    "about",
    "to",
    "email",
    "e-mail",
    "phone",
    "please",
    "thanks",
    "thank",
    "looking",
    "interested",
    "calling",
    "writing",
}
NOT_NAMES = {
    "sales",
    "support",
    "sure",
    "fine",
    "ok",
    "okay",
    "yes",
    "no",
    "hello",
    "hi",
    "hey",
    "interested",
    "looking",
    "here",
    "back",
    "not",
    "just",
    "the",
    "a",
    "an",
    "also",
    "actually",
    "sorry",
    "still",
}
NOT_COMPANIES = {
    "sales",
    "support",
    "home",
    "work",
    "the",
    "a",
    "an",
    "you",
    "your",
    "me",
    "us",
    "enterprise",
    "professional",
    "essentials",
    "unlimited",
    "inbox",
    "dialer",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "tomorrow",
    "once",
    "least",
    "all",
}
CORRECTION = re.compile(
    r"^\W*(actually|sorry|oops|correction|i meant|wait|no,?|make that|scratch that)\b", re.IGNORECASE
)
LEAD_IN = re.compile(
    r"^\W*(actually|sorry|oops|correction|i meant|wait|ok(ay)?|sure|yes|yeah|hi|hello|hey|"
    r"it'?s|it is|that'?s|that is|my name is|i'?m|i am|this is|name\s*[:=-]|company\s*[:=-]|"
    r"we'?re|we are|i work (at|for)|the company is|company is|at|from)\b[\s,:.-]*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Details:
    name: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    bad_phone: bool = False  # digits that were meant as a phone number but are not one
    skip_phone: bool = False

    def any(self) -> bool:
        return bool(self.name or self.company or self.email or self.phone or self.skip_phone)


def normalise_phone(value: str) -> str | None:
    """E.164 (+15551234567) the way the backend reads it, or None. A 10-digit number without a
    country code is taken as North American."""
    digits = re.sub(r"[\s\-.()]", "", value or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if len(digits) == 10 and digits.isdigit():
            digits = "+1" + digits
        elif len(digits) == 11 and digits.startswith("1") and digits.isdigit():
            digits = "+" + digits
    return digits if E164.match(digits) else None


def _trim(words: str, stop: set[str]) -> str:
    kept = []
    for word in words.split():
        if word.lower().strip(".,!?") in stop:
            break
        kept.append(word)
    return " ".join(kept).strip(" .,;:!?()'\"-")


# A word of a name: letters, joined by the marks names use ("O'Neil", "Jean-Luc", "Dr."); no digits,
# no markup or link ("<https" was once kept as a visitor's name).
NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]+)*\.?$")


def _name(value: str | None) -> str | None:
    if not value:
        return None
    value = _trim(value, STOP)
    words = value.split()
    if not words or len(words) > 4 or words[0].lower() in NOT_NAMES or not all(NAME_WORD.match(w) for w in words):
        return None
    # "dana smith" -> "Dana Smith"; names typed with capitals keep them ("Ana de la Cruz", "McKay").
    return " ".join(w[:1].upper() + w[1:] if w.islower() and len(w) > 2 else w for w in words)


def _company(value: str | None) -> str | None:
    if not value:
        return None
    value = _trim(value, STOP - {"and"}).removesuffix(" and").strip(" .,;:!?()'\"-")
    if not value or value.lower() in NOT_COMPANIES or len(value) > 200 or EMAIL.search(value) or MARKUP.search(value):
        return None
    return value


def phones_in(text: str) -> tuple[str | None, bool]:
    """(the first usable phone number, whether digits that look meant as a phone were unusable)."""
    bad = False
    for found in PHONE_RUN.finditer(EMAIL.sub(" ", text)):
        run = found.group(0).strip()
        digits = re.sub(r"\D", "", run)
        if len(digits) < 7:
            continue
        phone = normalise_phone(run)
        if phone:
            return phone, False
        bad = True
    return None, bad


def details_in(text: str) -> Details:
    """What ``text`` states with a cue (or in an unambiguous form: an email, a phone number)."""
    text = (text or "").strip()
    email = EMAIL.search(text)
    phone, bad_phone = phones_in(text)
    rest = LINK.sub(" ", EMAIL.sub(" ", text))
    name = None
    strong = NAME_STRONG.search(rest)
    if strong:
        name = _name(strong.group(1))
    if not name:
        for cue in NAME_CUE.finditer(rest):
            name = _name(cue.group(1))
            if name:
                break
    company = None
    strong_company = COMPANY_STRONG.search(rest)
    if strong_company:
        company = _company(strong_company.group(1))
    if not company:
        for cue in COMPANY_CUE.finditer(rest):
            candidate = _company(cue.group(1))
            if candidate and (not name or candidate not in name):
                company = candidate
                break
    skip = bool(SKIP.search(text)) and phone is None
    return Details(
        name=name,
        company=company,
        email=email.group(0).lower() if email else None,
        phone=phone,
        bad_phone=bad_phone and phone is None,
        skip_phone=skip,
    )


def _bare(text: str) -> str:
    """An answer without its lead-in words and punctuation: "it's Globex." -> "Globex"."""
    previous = None
    while previous != text:
        previous, text = text, LEAD_IN.sub("", text, count=1).strip()
    return text.strip(" .,;:!?()'\"")


def answer_to(asked: str | None, text: str, *, missing: list[str]) -> Details:
    """The details in ``text``, a reply to the question for ``asked`` (name, company, email,
    phone, or None), where ``missing`` are the details still wanted, in order. A list ("Sam
    Carter, sam@initech.example, Initech") fills the missing ones in order; a bare answer
    fills the one asked for."""
    found = details_in(text)
    parts = [p.strip() for p in re.split(r"[,;\n/|]+|\s+-\s+", LINK.sub(" ", EMAIL.sub(" ", text))) if p.strip()]
    parts = [p for p in parts if not (phones_in(p)[0] or phones_in(p)[1]) and re.search(r"[^\W\d_]", p)]
    wanted = [m for m in missing if m in ("name", "company") and getattr(found, m) is None]
    if asked in ("name", "company") and asked in wanted:
        wanted.remove(asked)
        wanted.insert(0, asked)
    if not parts or not wanted or CORRECTION.match(text) and (found.name or found.company or found.email):
        return found
    if len(parts) == 1 and asked not in ("name", "company"):
        return found  # a bare word at the email or phone question is not a name
    values: dict[str, Any] = {}
    for part, slot in zip(parts, wanted):
        value = _name(_bare(part)) if slot == "name" else _company(_bare(part))
        if value and value not in (found.name, found.company):
            values[slot] = value
    return replace(found, **values)
