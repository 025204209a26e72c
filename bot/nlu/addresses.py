"""A whole postal address in one message ("we moved: 200 Congress Ave, Suite 300, Austin, TX 78701,
US"), split into the billing form's parts, so the form asks only for what is missing.

Only a message that plainly holds an address counts: a street that starts with a house number, and
after it a city and a postal code, comma-separated. Anything less is left to the form's questions
(street, city, postal code, country), which take one part at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words before the address: "we moved, new billing address is", "change our address to".
LEAD_IN = re.compile(r"^.*?\b(?:address(?:\s+is)?(?:\s+now)?|moved(?:\s+to)?|to|is)\s*[:\-]?\s*(?=\d)", re.I)
STREET = re.compile(r"^\d+[A-Za-z]?(?:[-/]\d+)?\s+\S.*$")
LINE_TWO = re.compile(r"^(?:suite|ste\.?|apt\.?|apartment|unit|floor|fl\.?|#|building|bldg\.?|room|dept\.?)\b", re.I)
POSTAL = re.compile(
    r"^(?:\d{5}(?:-\d{4})?"  # US ZIP
    r"|\d{4,6}"  # most of Europe, Australia, India
    r"|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"  # UK
    r"|[A-Z]\d{2}\s?[A-Z\d]{4}"  # Ireland (Eircode)
    r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d)$",  # Canada
    re.I,
)
REGION_POSTAL = re.compile(r"^([A-Za-z]{2,3})\s+(\S.*)$")  # "TX 78701"
COUNTRY_WORDS = re.compile(
    r"^(?:[A-Z]{2}|usa|u\.s\.a?\.?|united states(?: of america)?|america|uk|united kingdom|great britain|england"
    r"|ireland|canada|germany|france|spain|italy|netherlands|australia|india|mexico|brazil|japan)$",
    re.I,
)


@dataclass(frozen=True)
class Address:
    street: str  # "200 Congress Ave, Suite 300": a comma starts line 2, as the form's question asks
    city: str  # "Austin, TX": a comma gives the state or region
    postal_code: str
    country: str | None  # as written ("US", "Ireland"); the form turns it into a code


def _postal(part: str) -> tuple[str | None, str | None]:
    """(region, postal code) of "TX 78701", "78701" or "D02 X285"; (None, None) if it is neither."""
    if POSTAL.match(part):
        return None, part
    both = REGION_POSTAL.match(part)
    if both and POSTAL.match(both.group(2)) and not both.group(1).isdigit():
        return both.group(1).upper(), both.group(2)
    return None, None


def address_in(text: str) -> Address | None:
    """The address ``text`` holds whole (street, city, postal code; country if given), else None."""
    body = LEAD_IN.sub("", (text or "").strip(), count=1)
    parts = [p.strip(" .") for p in re.split(r"[,\n;]+", body) if p.strip(" .")]
    if len(parts) < 3 or not STREET.match(parts[0]):
        return None
    street, rest = [parts[0]], parts[1:]
    while rest and LINE_TWO.match(rest[0]):
        street.append(rest.pop(0))
    country = rest.pop() if rest and COUNTRY_WORDS.match(rest[-1]) and not _postal(rest[-1])[1] else None
    if len(rest) < 2:
        return None
    region, postal = _postal(rest[-1])
    if postal is None:
        return None
    city_parts = rest[:-1]
    if region:
        city_parts.append(region)
    if len(city_parts) > 2:
        return None
    return Address(street=", ".join(street), city=", ".join(city_parts), postal_code=postal, country=country)
