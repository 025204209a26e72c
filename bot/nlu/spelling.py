"""`SpellingCorrector`: what the customer meant to type, for the features that read meaning.

People type fast: "how muce is the inbo add on", "upgrade us to Enterprsie". Counting words knows
only the words we wrote, and the sentence encoder cuts an unknown word into unrelated pieces, so
one slip of a finger could move a request to another intent, under the guard's bar, or out of
scope. This component finds, for each word that is neither ours nor English, the nearest word that
is (SymSpell over edit distance: symspellpy, MIT, with its English frequency list), and hands the
corrected words to the features:

* each corrected token's ``lemma`` (CountVectorsFeaturizer counts lemmas), and
* the corrected text as ``SPELLED_TEXT``, which the sentence encoder embeds in place of the text
  (bot/nlu/sentence_features.py), and through it the out-of-scope vote.

The text itself and the tokens' text stay as typed: names, emails, products and numbers are
extracted from what the customer wrote, and the transcript shows it.

Rules, in the order they apply to a token:
* Only runs of letters of at least ``min_length`` letters are looked at; all capitals (an acronym:
  SSO, VAT) and anything with a digit, "@" or an apostrophe are left alone.
* A stretched word ("hiii", "pleeease") is shortened to a known word if it can be.
* A word we wrote in training, or any word of the English list, is left alone: a correct word is
  never "corrected" into a commoner one ("resubscribe" stays). Slips in our own examples
  ("invoce", see ``typos_among``) do not count as words we wrote.
* Otherwise the candidates are our words and the commonest English ones within one edit (words up
  to 5 letters) or two (longer), nearest first, then ours before English, then the most frequent.
* A capitalised word after the first ("Nandos", "Solana") is probably a name: it is only corrected
  to one of our own words (a product: "Enterprsie"), never to English.

The vocabulary of our words is learnt from the training examples and stored in the model.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from symspellpy import SymSpell, Verbosity

SPELLED_TEXT = "spelled_text"  # the message attribute with the corrected text, set only when it differs

WORD = re.compile(r"[A-Za-z]+")
STRETCH = re.compile(r"([a-z])\1{2,}")
ENGLISH_LIST = "frequency_dictionary_en_82_765.txt"
# Our own words always win a tie in distance over English ones: their count is scaled past any
# English count (the commonest, "the", is 2.3e10).
OURS = 10**12
SLIP_LENGTH, SLIP_RATIO = 6, 5


@lru_cache(maxsize=1)
def english() -> tuple[tuple[str, int], ...]:
    """symspellpy's English list (word, count), commonest first; read once per process."""
    text = resources.files("symspellpy").joinpath(ENGLISH_LIST).read_text(encoding="utf-8")
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return tuple((word, int(count)) for word, count in pairs)


def words_of(texts: Iterable[str]) -> Counter[str]:
    """How often each word (a run of letters, lower case) occurs in the texts."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word.lower() for word in WORD.findall(text))
    return counts


def typos_among(ours: Mapping[str, int], english_words: frozenset[str]) -> frozenset[str]:
    """Our own words that are slips of another of ours: not English, at least SLIP_LENGTH letters,
    one edit from one of our words written SLIP_RATIO times as often ("invoce", "subscripton").

    Training examples carry such slips on purpose; they are corrected like a customer's, so that the
    sentence encoder reads the word meant. Shorter words are left: "sso", "crm" and "gmail" are one
    edit from commoner words of ours, and are words.
    """
    symspell = SymSpell(max_dictionary_edit_distance=1, prefix_length=7)
    for word, count in ours.items():
        symspell.create_dictionary_entry(word, count)
    slips = set()
    for word, count in ours.items():
        if len(word) < SLIP_LENGTH or word in english_words:
            continue
        near = symspell.lookup(word, Verbosity.ALL, max_edit_distance=1)
        if any(s.term != word and s.count >= SLIP_RATIO * count for s in near):
            slips.add(word)
    return frozenset(slips)


class Speller:
    """The correction rules above, over our vocabulary and the English list; no Rasa involved."""

    def __init__(self, ours: Mapping[str, int], english_candidates: int = 20_000, min_length: int = 3) -> None:
        self.min_length = min_length
        listed = english()
        self.english = dict(listed)
        english_words = frozenset(self.english)
        counted = {word: count for word, count in ours.items() if count > 0}
        slips = typos_among(counted, english_words)
        self.ours = {word: count for word, count in counted.items() if word not in slips}
        self.known = english_words | self.ours.keys()
        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in listed[:english_candidates]:
            self.symspell.create_dictionary_entry(word, count)
        for word, count in self.ours.items():
            self.symspell.create_dictionary_entry(word, count * OURS)

    def correct(self, word: str, name_like: bool = False) -> Optional[str]:
        """The word meant, in the case it was typed, or None to leave it as it is."""
        if len(word) < self.min_length or not word.isalpha() or not word.isascii() or word.isupper():
            return None
        lower = word.lower()
        shortened = self._unstretched(lower)
        if shortened != lower and shortened in self.known:
            return _cased(shortened, word)
        if lower in self.known:
            return None
        best = self._nearest(shortened, ours_only=name_like)
        return _cased(best, word) if best and best != lower else None

    def _unstretched(self, word: str) -> str:
        """A run of three or more of a letter as one, or as two ("hiii" -> "hi", "sooon" -> "soon"):
        an English word first, then one of ours, else the run of two."""
        forms = (STRETCH.sub(r"\1", word), STRETCH.sub(r"\1\1", word))
        english = [f for f in forms if f in self.english]
        if english:
            return max(english, key=lambda f: self.english[f])
        return next((f for f in forms if f in self.known), forms[1])

    def _nearest(self, word: str, ours_only: bool) -> Optional[str]:
        distance = 1 if len(word) <= 5 else 2
        suggestions = self.symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        if ours_only:
            suggestions = [s for s in suggestions if s.term in self.ours]
        return str(suggestions[0].term) if suggestions else None

    def spelled(self, text: str, spans: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """The corrections of the words at the given (start, end) spans of the text."""
        fixes = {}
        for start, end in spans:
            word = text[start:end]
            name_like = start > 0 and word[:1].isupper()
            if (fixed := self.correct(word, name_like)) is not None:
                fixes[(start, end)] = fixed
        return fixes


def _cased(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def rewritten(text: str, fixes: Mapping[tuple[int, int], str]) -> str:
    """The text with each span replaced by its correction (spans do not overlap)."""
    out: list[str] = []
    last = 0
    for (start, end), word in sorted(fixes.items()):
        out.extend((text[last:start], word))
        last = end
    out.append(text[last:])
    return "".join(out)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SpellingCorrector(GraphComponent):
    """Place it right after the tokenizer, before every featurizer."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # english_candidates: how many of the commonest English words a typo may be corrected to
        # (every word of the list counts as correct as typed); min_length: shorter words are left.
        return {"english_candidates": 20_000, "min_length": 3}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        ours: Optional[Mapping[str, int]] = None,
    ) -> None:
        self.config = config
        self._storage, self._resource = model_storage, resource
        self.ours: Mapping[str, int] = ours or {}
        self.speller = self._speller()

    def _speller(self) -> Speller:
        return Speller(self.ours, int(self.config["english_candidates"]), int(self.config["min_length"]))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpellingCorrector:
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self.ours = dict(words_of(m.get(TEXT) for m in training_data.training_examples if m.get(TEXT)))
        self.speller = self._speller()
        with self._storage.write_to(self._resource) as directory:
            (directory / "vocabulary.json").write_text(json.dumps(self.ours, sort_keys=True))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SpellingCorrector:
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                ours = json.loads((directory / "vocabulary.json").read_text())
        except ValueError:  # not trained
            ours = None
        return cls(config, model_storage, resource, ours)

    def _spell(self, message: Message) -> None:
        text, tokens = message.get(TEXT), message.get(TOKENS_NAMES[TEXT])
        if not text or not tokens:
            return
        fixes = self.speller.spelled(text, ((t.start, t.end) for t in tokens))
        if not fixes:
            return
        for token in tokens:
            if (fixed := fixes.get((token.start, token.end))) is not None:
                token.lemma = fixed
        message.set(SPELLED_TEXT, rewritten(text, fixes))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._spell(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._spell(message)
        return training_data
