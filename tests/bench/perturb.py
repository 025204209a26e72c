"""Perturbed copies of a customer message, for tests/bench/nlu_robustness.py (no Rasa needed).

* typos(text, seed): one or two character edits (insert, delete, substitute, or transpose two
  adjacent letters), each in a different word of at least 4 letters. A word is a run of letters in
  a whitespace-separated token; a token with a digit or an "@" in it (INV-1042, 5th, an email) is
  never touched. A message without such a word comes back unchanged.
* lower(text): lower case.
* no_punctuation(text): punctuation removed, as people write who do not type it ("what's the
  price?" -> "whats the price"). A hyphen, dot, slash or "@" between two letters or digits stays
  (INV-1042, 5.00, 24/7, an email); an apostrophe goes wherever it is.
* expand_contractions(text): "don't" -> "do not", "what's" -> "what is", "I'd" -> "I would",
  "can't" -> "cannot", "won't" -> "will not", "I'm" -> "I am", ... ("'s" only after a pronoun or a
  question word, where it is "is": a possessive "company's" stays). Straight and curly apostrophes.

The same (text, seed) always gives the same typos, whatever else was perturbed before it.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata

MIN_WORD = 4
LETTERS = string.ascii_lowercase
TOKEN = re.compile(r"\S+")
WORD = re.compile(r"[^\W\d_]+")  # a run of letters
PROTECTED = re.compile(r"[\d@]")  # tokens never edited: numbers, invoice numbers, emails
OPERATIONS = ("insert", "delete", "substitute", "transpose")


def _words(text: str) -> list[tuple[int, int]]:
    """(start, end) of every run of >= MIN_WORD letters in a token without digits or '@'."""
    spans = []
    for token in TOKEN.finditer(text):
        if PROTECTED.search(token.group()):
            continue
        for word in WORD.finditer(token.group()):
            if word.end() - word.start() >= MIN_WORD:
                spans.append((token.start() + word.start(), token.start() + word.end()))
    return spans


def _letter(rng: random.Random, like: str, unlike: str = "") -> str:
    choice = rng.choice([c for c in LETTERS if c != unlike.lower()])
    return choice.upper() if like.isupper() else choice


def _edit(word: str, rng: random.Random) -> str:
    """One random edit of `word` (>= MIN_WORD letters), inside it; never a no-op."""
    operation = rng.choice(OPERATIONS)
    if operation == "transpose":
        pairs = [i for i in range(len(word) - 1) if word[i].lower() != word[i + 1].lower()]
        if not pairs:  # "aaaa": nothing to swap
            operation = "substitute"
        else:
            i = rng.choice(pairs)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if operation == "insert":
        i = rng.randrange(1, len(word))  # between two of its letters
        return word[:i] + _letter(rng, word[i - 1]) + word[i:]
    i = rng.randrange(len(word))
    if operation == "delete":
        return word[:i] + word[i + 1 :]
    return word[:i] + _letter(rng, word[i], unlike=word[i]) + word[i + 1 :]


def typos(text: str, seed: int | str = 0) -> str:
    rng = random.Random(f"{seed}\0{text}")
    spans = _words(text)
    if not spans:
        return text
    chosen = sorted(rng.sample(spans, min(rng.choice((1, 2)), len(spans))), reverse=True)
    for start, end in chosen:  # right to left, so the earlier spans stay where they are
        text = text[:start] + _edit(text[start:end], rng) + text[end:]
    return text


def lower(text: str) -> str:
    return text.lower()


APOSTROPHES = "'\u2019"
KEEP_BETWEEN = set("-./@")


def no_punctuation(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch).startswith("P") and not (
            ch in KEEP_BETWEEN and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        ):
            if ch not in APOSTROPHES:
                out.append(" ")  # "fine,thanks" stays two words
            continue
        out.append(ch)
    return " ".join("".join(out).split())


SPECIAL = {"can": "cannot", "won": "will not", "shan": "shall not", "ain": "is not"}
SUFFIX = {"re": "are", "ve": "have", "ll": "will", "m": "am", "d": "would"}
IS_AFTER = frozenset(
    "it he she that there here what where who how when why which this everything something nothing".split()
)
CONTRACTION = re.compile(r"\b([A-Za-z]+)[" + APOSTROPHES + r"](t|re|ve|ll|m|d|s)\b", re.IGNORECASE)


def _cased(expansion: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return expansion.upper()
    return expansion[:1].upper() + expansion[1:] if like[:1].isupper() else expansion


def _expand(match: re.Match[str]) -> str:
    stem, suffix = match.group(1), match.group(2).lower()
    whole = match.group()
    if suffix == "t":
        if not stem.lower().endswith("n"):
            return whole
        if stem.lower() in SPECIAL:
            return _cased(SPECIAL[stem.lower()], whole)
        return stem[:-1] + (" NOT" if whole.isupper() else " not")
    if suffix == "s":
        if stem.lower() == "let":
            return stem + (" US" if whole.isupper() else " us")
        if stem.lower() not in IS_AFTER:
            return whole  # a possessive ("the company's plan")
        return stem + (" IS" if whole.isupper() else " is")
    word = SUFFIX[suffix]
    return stem + " " + (word.upper() if whole.isupper() else word)


def expand_contractions(text: str) -> str:
    return CONTRACTION.sub(_expand, text)


VARIANTS = {
    "typos": typos,
    "lower": lambda text, seed=0: lower(text),
    "nopunct": lambda text, seed=0: no_punctuation(text),
    "expanded": lambda text, seed=0: expand_contractions(text),
}
