"""What a person's message may carry into the assistant: ``clean(text)`` (pure Python, no Rasa).

A message of nothing but invisible characters must not reach the NLU as text: a lone zero-width
space or byte-order mark was read as "yes" (issue 17). ``clean`` removes what cannot be seen or
does not belong in text, whoever sends it (the gateway on every channel before Rasa, and Rasa's
gateway channel again as a second guard):

- control characters (Unicode Cc): a tab becomes a space; CR LF, CR, vertical tab, form feed, NEL
  and the line/paragraph separators become a newline; the rest (NUL, ESC...) are dropped;
- format characters (Cf: zero-width space and joiners, word joiner, BOM, soft hyphen, bidi marks,
  embeddings, overrides and isolates, invisible operators, tags...) and the other default
  ignorable code points (Hangul fillers, CGJ, Khmer inherent vowels, variation selectors out of
  place), which render as nothing;
- lone surrogates (JSON can escape one; UTF-8 cannot carry it) and noncharacters (U+FDD0..FDEF,
  U+xxFFFE/F).

Kept, because text or emoji need them:
- ZWJ inside an emoji sequence (between two pictographs: family, profession, rainbow flag);
- variation selectors after a character they can select (text/emoji style after a pictograph,
  keycaps "1️⃣", CJK ideographic variants and Mongolian's free variation selectors after a
  character outside ASCII);
- the tag characters of a subdivision flag (U+1F3F4, tag letters/digits, CANCEL TAG);
- ZWNJ and ZWJ between letters of the scripts whose spelling uses them (Arabic and Persian,
  Syriac, N'Ko, Mongolian, the Indic scripts...); between Latin letters they mean nothing and go;
- private-use characters and code points this Python's Unicode tables do not know yet (newer
  emoji: the Rasa environment's tables are older than the gateway's).

Spaces and newlines at either end are removed; an empty result means the message had no text.
Decisions are made by code point ranges where Unicode versions differ, so the gateway's Python
and Rasa's agree.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

ZWNJ, ZWJ = "\u200c", "\u200d"
BLACK_FLAG, CANCEL_TAG = "\U0001f3f4", "\U000e007f"
_NEWLINES = {"\r", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}

# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties) that are not Cc/Cf: letters and
# marks that render as nothing. (The Cf ones are dropped by category; reserved ranges included.)
# Also the format characters added after Unicode 13 (the Rasa environment's tables): Arabic marks
# above, Egyptian hieroglyph format controls.
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
    (0x0890, 0x0891),
    (0x13430, 0x1343F),
)
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF), (0x180B, 0x180D), (0x180F, 0x180F))
# Conjoining Hangul jamo other than the two fillers: leading consonants, vowels, trailing consonants.
_JAMO_LEADING = ((0x1100, 0x115E), (0xA960, 0xA97C))
_JAMO_VOWEL = ((0x1161, 0x11A7), (0xD7B0, 0xD7C6))
_JAMO_TRAILING = ((0x11A8, 0x11FF), (0xD7CB, 0xD7FB))
# Emoji blocks (Extended_Pictographic lives there), by range: newer emoji are unassigned (Cn) in
# older Unicode tables, and a ZWJ between them must survive in both environments.
_PICTOGRAPHIC = (
    (0x2190, 0x21FF),
    (0x2300, 0x23FF),
    (0x2460, 0x27BF),
    (0x2900, 0x297F),
    (0x2B00, 0x2BFF),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x1F000, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)
_EMOJI_MODIFIERS = (0x1F3FB, 0x1F3FF)  # skin tones
_PRESENTABLE = frozenset("0123456789#*\u203c\u2049\u2122\u2139")  # emoji that are not symbols (So)
_TAG_SPEC = ((0xE0030, 0xE0039), (0xE0061, 0xE007A))  # tag digits and small letters (subdivision codes)
# Scripts whose spelling uses ZWNJ/ZWJ between letters (the first word of a character's name).
_JOINING_SCRIPTS = frozenset(
    {
        "ARABIC",
        "SYRIAC",
        "NKO",
        "MANDAIC",
        "MONGOLIAN",
        "PHAGS-PA",
        "DEVANAGARI",
        "BENGALI",
        "GURMUKHI",
        "GUJARATI",
        "ORIYA",
        "TAMIL",
        "TELUGU",
        "KANNADA",
        "MALAYALAM",
        "SINHALA",
        "MYANMAR",
        "KHMER",
        "TIBETAN",
        "LIMBU",
        "BALINESE",
        "JAVANESE",
        "SUNDANESE",
        "TIRHUTA",
        "SHARADA",
        "NEWA",
        "GRANTHA",
        "CHAKMA",
    }
)


def _within(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= cp <= high for low, high in ranges)


def _noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _pictographic(ch: str | None) -> bool:
    if not ch:
        return False
    cp = ord(ch)
    return (
        _within(cp, _PICTOGRAPHIC)
        or _EMOJI_MODIFIERS[0] <= cp <= _EMOJI_MODIFIERS[1]
        or unicodedata.category(ch) == "So"
    )


def _ends_emoji(out: list[str]) -> bool:
    """Does the text kept so far end with an emoji (a pictograph, maybe with its presentation
    selector, skin tone, keycap mark or a flag's tags)?"""
    if not out:
        return False
    last = out[-1][-1]
    if last in ("\ufe0f", "\u20e3", CANCEL_TAG) or _EMOJI_MODIFIERS[0] <= ord(last) <= _EMOJI_MODIFIERS[1]:
        return True
    return _pictographic(last)


def _joining_letter(ch: str | None) -> bool:
    if not ch or unicodedata.category(ch)[0] not in "LM":
        return False
    return unicodedata.name(ch, "").split(" ", 1)[0] in _JOINING_SCRIPTS


def _selectable(selector: str, ch: str | None) -> bool:
    """May ``selector`` (a variation selector) follow ``ch``? Emoji and text presentation (FE0E,
    FE0F) after a pictograph or a keycap's digit, # or *; the others (CJK ideographic variants,
    Mongolian free variation selectors, math and script variants) after a visible character
    outside ASCII. Nowhere else does one select anything."""
    if not ch or unicodedata.category(ch)[0] not in "LNPS":
        return False
    if selector in ("\ufe0e", "\ufe0f") and (ch in _PRESENTABLE or _pictographic(ch)):
        return True
    return not ch.isascii()


def _fills_a_syllable(filler: int, before: str | None, after: str | None) -> bool:
    """Is a Hangul filler part of a syllable with a real jamo in it? The leading-consonant filler
    before a vowel; the vowel filler after a leading consonant or before a trailing one. Alone (or
    two fillers together) it is an invisible "letter"."""
    if filler == 0x115F:
        return after is not None and _within(ord(after), _JAMO_VOWEL)
    return (before is not None and _within(ord(before), _JAMO_LEADING)) or (
        after is not None and _within(ord(after), _JAMO_TRAILING)
    )


def _flag_tags(text: str, start: int) -> int:
    """After a black flag at ``start - 1``: the end of a well-formed tag sequence (tag letters or
    digits, then CANCEL TAG), or ``start`` when there is none."""
    end = start
    while end < len(text) and _within(ord(text[end]), _TAG_SPEC):
        end += 1
    if end > start and end < len(text) and text[end] == CANCEL_TAG:
        return end + 1
    return start


# Printable characters that still need a look (the rest of the printable ones are kept as they are).
_LOOK_AGAIN = frozenset(
    [chr(cp) for low, high in (*_VARIATION_SELECTORS, *_IGNORABLE) if high - low < 0x200 for cp in range(low, high + 1)]
    + [BLACK_FLAG]
)


def clean(text: str) -> str:
    """``text`` without invisible, control and unencodable characters (see the module docstring),
    without surrounding whitespace. "" when nothing visible was in it."""
    if text.isascii() and text.isprintable():
        return text.strip()
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        i += 1
        if ch.isprintable() and ch not in _LOOK_AGAIN:
            out.append(ch)
            continue
        cp = ord(ch)
        if ch == "\t":
            out.append(" ")
            continue
        if ch in _NEWLINES:
            if ch == "\r" and i < n and text[i] == "\n":
                i += 1
            out.append("\n")
            continue
        if ch == BLACK_FLAG:
            end = _flag_tags(text, i)
            out.append(text[i - 1 : end])
            i = end
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or _noncharacter(cp):
            continue
        if ch in (ZWJ, ZWNJ):
            following = text[i] if i < n else None
            prev = out[-1][-1] if out else None
            if ch == ZWJ and _ends_emoji(out) and _pictographic(following):
                out.append(ch)
            elif _joining_letter(prev) and following is not None and unicodedata.category(following)[0] in "LM":
                out.append(ch)
            continue
        if _within(cp, _VARIATION_SELECTORS):
            if _selectable(ch, out[-1][-1] if out else None):
                out.append(ch)
            continue
        if cp in (0x115F, 0x1160) and _fills_a_syllable(cp, out[-1][-1] if out else None, text[i] if i < n else None):
            out.append(ch)
            continue
        if category == "Cf" or _within(cp, _IGNORABLE):
            continue
        out.append(ch)
    return "".join(out).strip()


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(value: Any, depth: int = 0) -> Any:
    """``value`` (JSON: strings, lists, objects) with lone surrogates as U+FFFD, keys included: for
    data that is kept as sent (metadata, identities), where nothing else may change, but which
    must be storable and loggable as UTF-8. Nesting deeper than 32 levels is dropped."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if depth >= 32:
        return None
    if isinstance(value, dict):
        return {without_surrogates(str(k), depth + 1): without_surrogates(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [without_surrogates(v, depth + 1) for v in value]
    return value
