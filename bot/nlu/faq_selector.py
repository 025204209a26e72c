"""`FaqResponseSelector`: Rasa's ResponseSelector, asked only about messages that are FAQ questions.

The stock selector runs its neural network on every message, although its answer is used only
when the intent is its retrieval intent (``faq``: the rule runs ``utter_faq``, which reads it).
It was the second most expensive step of understanding a message (about 8 ms of ~35 ms here);
this subclass skips it for every other intent, so a billing request no longer pays for an FAQ
lookup. Training, the model and the answers for FAQ questions are exactly the stock selector's.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):
    def _asks_retrieval_intent(self, message: Message) -> bool:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        wanted = [self.retrieval_intent] if self.retrieval_intent else self.all_retrieval_intents
        return intent in wanted

    def process(self, messages: List[Message]) -> List[Message]:
        asked = [m for m in messages if self._asks_retrieval_intent(m)]
        if asked:
            super().process(asked)
        return messages
