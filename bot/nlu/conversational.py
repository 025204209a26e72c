"""`ConversationalVariants`: each training example also said the way people say it in a chat.

Our examples are written terse ("add 5 licenses", median five words); customers in a support chat
often write a turn the way they would speak it: a greeting or a word of context first, fillers and
false starts, the request in the middle, a hedge or thanks after it ("hi, um, so I'm the office
manager here and... add 5 licenses, if that's possible. thanks so much"). A classifier that only
saw the terse form reads the extra words as evidence of something else, most often out of scope.

At training time only, this component adds to the training data a copy of a share of the examples
inside such a frame: an opening, a closing, or both, chosen from the lists below. The frames carry
no request of their own (no product, no billing or support word, no number) and the same frames
go around every intent, out_of_scope included, so a frame says nothing about the intent and the
classifier learns to look past it. Entity annotations move with their words; the copy keeps every
other attribute of its example (the FAQ question of a faq example included).

Which examples get a copy, and which frame, follows from a hash of the example's text and the
component's ``seed``: training twice on the same data gives the same model, and the copy of an
example is the same in every cross-validation fold that trains on it (test folds are never
framed: they are not training data). Every intent is framed, the social turns too ("hi, thanks so
much, cheers" is still thanks): framing every intent but those, on our development set
(nlu_dev/), sent 5 more greetings and thanks to out_of_scope, where out-of-scope lines had the
frame words and short thanks did not. Only bare answers and card numbers (``inform``,
``give_card_number``), whose point is to be nothing else, get no copy.

Place it first in the pipeline's training path, before the tokenizer: it changes only what is
trained on, and does nothing to a message at run time.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# Openings: greetings, fillers, a word about who is writing or why now. None names a product, a
# bill, a price, a seat, a number or a time, or asks for anything by itself
# (tests/rasa_env/test_conversational.py holds them to that).
OPENINGS: Tuple[str, ...] = (
    "hi, ",
    "hello there, ",
    "hey, good morning. ",
    "um hi, yeah so ",
    "okay so basically ",
    "so ",
    "yeah hi, quick question, ",
    "hi, hope you're well. ",
    "hello, I hope this is the right place. ",
    "sorry to bother you, but ",
    "hi there, I'm the office manager here and ",
    "good afternoon. my manager asked me to sort something out: ",
    "hi, I'm new to this and ",
    "okay, so I've been going around in circles all morning and ",
    "hey team, ",
    "um, so, ",
    "right, so ",
    "hiya, ",
    "hello, this is Sam from the operations side. ",
    "morning! ",
    "hi, I recently took over the admin role and ",
    "sorry, me again. ",
    "hey, so the thing is, ",
    "hi, I don't know if you can do this but ",
    "so uh, ",
    "hello. I have never used this chat before, ",
    "hey there! ",
    "ok so ",
    "hi, I'm writing on behalf of my company. ",
    "hello again, ",
    "I just got out of a meeting and ",
    "hi, our director wants this sorted quickly, ",
    "hey, hopefully a quick one: ",
    "good morning, ",
    "hello hello, ",
    "so basically, ",
    "hi, I was told to message here. ",
    "uh hi, ",
)

# Closings: thanks, hedges, a nudge. The same rules as the openings.
CLOSINGS: Tuple[str, ...] = (
    ", thanks",
    ". thank you so much!",
    ", if that's possible",
    " please",
    " when you get a chance",
    ". appreciate it",
    ". cheers",
    ", thanks in advance",
    ". let me know",
    ", that would be great",
    ". thanks a lot for your time",
    " asap please",
    ", is that something you can do?",
    ". I'd really appreciate it",
    " if you don't mind",
    ". many thanks",
    ", ty",
    " thx",
    ". hope that makes sense",
    ", I think that's all",
    ". thanks, have a good day",
    " :)",
    ". much appreciated",
    ", sorry for the trouble",
)

UNFRAMED = ("inform", "give_card_number")


def _draw(text: str, seed: int) -> int:
    """A stable number for this text and seed (not Python's hash, which changes per process)."""
    digest = hashlib.blake2b(f"{seed}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def frame(text: str, seed: int = 0, share: float = 0.5) -> Optional[Tuple[str, str]]:
    """The (opening, closing) this text is framed with, or None for no copy; either may be ''."""
    draw = _draw(text, seed)
    if (draw % 10_000) / 10_000 >= share:
        return None
    draw //= 10_000
    kind = draw % 20  # 8 in 20 an opening only, 5 a closing only, 7 both
    draw //= 20
    opening = OPENINGS[draw % len(OPENINGS)] if kind < 8 or kind >= 13 else ""
    draw //= len(OPENINGS)
    closing = CLOSINGS[draw % len(CLOSINGS)] if kind >= 8 else ""
    return opening, closing


def framed(example: Message, opening: str, closing: str) -> Message:
    """A copy of ``example`` said inside the frame, its entities moved with their words."""
    entities = example.get(ENTITIES) or []
    text = str(example.get(TEXT))
    # "Add 5" -> "add 5"; "I need", "INV-1" and an entity's own words ("Enterprise pricing") stay
    # as written: a changed entity text would teach EntitySynonymMapper a synonym of its own.
    starts_entity = any(entity[ENTITY_ATTRIBUTE_START] == 0 for entity in entities)
    if opening and text[:2] != text[:2].upper() and not starts_entity:
        text = text[:1].lower() + text[1:]
    if closing:  # the closing ends the sentence; never cut into an entity's words
        kept = max((entity[ENTITY_ATTRIBUTE_END] for entity in entities), default=0)
        text = text[:kept] + text[kept:].rstrip().rstrip(".!?")
    data: Dict[Text, Any] = {**example.data, TEXT: opening + text + closing}
    if entities:
        data[ENTITIES] = [
            {
                **entity,
                ENTITY_ATTRIBUTE_START: entity[ENTITY_ATTRIBUTE_START] + len(opening),
                ENTITY_ATTRIBUTE_END: entity[ENTITY_ATTRIBUTE_END] + len(opening),
            }
            for entity in entities
        ]
    return Message(data=data)


def variants(examples: Sequence[Message], seed: int = 0, share: float = 0.5) -> List[Message]:
    """The framed copies of ``examples``: about ``share`` of those that may be framed."""
    copies = []
    for example in examples:
        intent, text = example.get(INTENT), example.get(TEXT)
        if not intent or not text or intent in UNFRAMED:
            continue
        chosen = frame(text, seed, share)
        if chosen:
            copies.append(framed(example, *chosen))
    return copies


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ConversationalVariants(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"share": 0.5, "seed": 0}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.share = float(config["share"])
        self.seed = int(config["seed"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConversationalVariants:
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Rasa's merge keeps the synonyms, regexes, lookups and responses, and copies every example
        # (0.7 s for 10,000): no copy shares a nested value with its original.
        return training_data.merge(TrainingData(variants(training_data.training_examples, self.seed, self.share)))

    def process(self, messages: List[Message]) -> List[Message]:
        return messages
