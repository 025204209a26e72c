"""The linear intent classifier on real featurizers: trains, is stored as arrays, loads back and
ranks intents the same way; unknown phrasing of a known request lands on its intent through the
sentence embedding."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intents import LinearIntentClassifier
from tests.rasa_env.featurizers import featurized

EXAMPLES = {
    "check_balance": [
        "what's my balance",
        "how much do we owe",
        "is anything unpaid",
        "balance please",
        "what is outstanding on the account",
    ],
    "add_licenses": [
        "add 5 licenses",
        "we need more seats",
        "buy 3 more user licenses",
        "add two seats",
        "increase our license count",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "hiya"],
}


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test")
    data = TrainingData(
        [Message(data={TEXT: text, INTENT: intent}) for intent, texts in EXAMPLES.items() for text in texts]
    )
    featurize = featurized(data, storage, context)
    classifier = LinearIntentClassifier.create({}, storage, Resource("intents"), context)
    classifier.train(data)
    return storage, context, classifier, featurize


def test_trained_classifier_ranks_intents(parts):
    _, _, classifier, featurize = parts
    message = classifier.process([featurize("could you add 4 more seats for us")])[0]
    ranking = message.get(INTENT_RANKING_KEY)
    assert message.get(INTENT)["name"] == "add_licenses"
    assert [r["name"] for r in ranking][0] == "add_licenses" and len(ranking) == 3
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-5
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


def test_words_it_never_saw_reach_the_intent_through_the_embedding(parts):
    _, _, classifier, featurize = parts
    # none of these words is in the examples of check_balance
    message = classifier.process([featurize("tell me the amount due, please")])[0]
    assert message.get(INTENT)["name"] == "check_balance"


def test_stored_as_arrays_and_loads_back_the_same(parts):
    storage, context, classifier, featurize = parts
    loaded = LinearIntentClassifier.load({}, storage, Resource("intents"), context)
    texts = ["hey", "what do we owe", "add 10 licenses please"]
    before = classifier.probabilities([featurize(t) for t in texts])
    after = loaded.probabilities([featurize(t) for t in texts])
    assert np.allclose(before, after) and loaded.model.classes == classifier.model.classes
    with storage.read_from(Resource("intents")) as directory:
        assert sorted(p.name for p in directory.iterdir()) == ["classes.json", "weights.npz"]


def test_a_message_without_text_is_left_alone(parts):
    _, _, classifier, _ = parts
    message = Message(data={TEXT: ""})
    classifier.process([message])
    assert message.get(INTENT) is None


def test_prediction_is_the_trained_model_applied_to_the_training_features(parts):
    """Prediction takes a shortcut (only the non-zero columns' coefficients, no sparse matrix);
    it must give what the model it trained gives on the matrix it trained on, including repeated
    words and a word it never saw."""
    from sklearn.linear_model import LogisticRegression

    from bot.nlu.linear_model import sentence_matrix

    _, _, classifier, featurize = parts
    messages = [featurize(t) for t in ["add add add seats seats", "qwzx", "what's my balance", "hi"]]
    matrix = sentence_matrix(messages, classifier.config["dense_weight"])
    reference = LogisticRegression()
    model = classifier.model
    reference.classes_ = np.array(model.classes)
    reference.coef_, reference.intercept_ = model.coef.astype(np.float64), model.intercept.astype(np.float64)
    assert np.allclose(classifier.probabilities(messages), reference.predict_proba(matrix), atol=1e-9)


def test_two_intents_are_told_apart(tmp_path):
    """With two classes scikit-learn keeps one row of weights; both intents still get their share."""
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "test")
    two = {k: EXAMPLES[k] for k in ("check_balance", "greet")}
    data = TrainingData([Message(data={TEXT: text, INTENT: intent}) for intent, texts in two.items() for text in texts])
    featurize = featurized(data, storage, context)
    classifier = LinearIntentClassifier.create({}, storage, Resource("intents"), context)
    classifier.train(data)
    for text, intent in (("hello there", "greet"), ("how much do we owe you", "check_balance")):
        ranking = classifier.process([featurize(text)])[0].get(INTENT_RANKING_KEY)
        assert ranking[0]["name"] == intent and len(ranking) == 2, text
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-5 and ranking[1]["confidence"] > 0


OUT_OF_SCOPE = [
    "what's the weather like tomorrow",
    "tell me a joke",
    "who won the football last night",
    "book me a table for two",
    "what time is it in tokyo",
    "how do I bake bread",
]


def test_class_weights_solver_and_tol_reach_logistic_regression(tmp_path, monkeypatch):
    """The options reach scikit-learn as given; a weight for an intent the data lacks (a fold of
    cross-validation, a bot without it) is left out instead of failing the fit."""
    import sklearn.linear_model

    seen = {}

    class Recording(sklearn.linear_model.LogisticRegression):
        def fit(self, *args, **kwargs):
            seen.update(self.get_params())
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(sklearn.linear_model, "LogisticRegression", Recording)
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "test")
    data = TrainingData(
        [Message(data={TEXT: text, INTENT: intent}) for intent, texts in EXAMPLES.items() for text in texts]
    )
    featurized(data, storage, context)
    config = {"class_weights": {"greet": 0.5, "out_of_scope": 0.3}, "solver": "saga", "tol": 1e-3}
    LinearIntentClassifier.create(config, storage, Resource("intents"), context).train(data)
    assert seen["class_weight"] == {"greet": 0.5} and seen["solver"] == "saga" and seen["tol"] == 1e-3
    LinearIntentClassifier.create({}, storage, Resource("plain"), context).train(data)
    assert seen["class_weight"] is None and seen["solver"] == "lbfgs" and seen["tol"] == 1e-4


def test_a_lower_out_of_scope_weight_lowers_its_probability(tmp_path):
    """Weighing the out-of-scope examples less moves a borderline request away from out_of_scope
    (and keeps a clear one where it was)."""
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "test")
    examples = {**EXAMPLES, "out_of_scope": OUT_OF_SCOPE}
    data = TrainingData(
        [Message(data={TEXT: text, INTENT: intent}) for intent, texts in examples.items() for text in texts]
    )
    featurize = featurized(data, storage, context)
    plain = LinearIntentClassifier.create({}, storage, Resource("plain"), context)
    lighter = LinearIntentClassifier.create(
        {"class_weights": {"out_of_scope": 0.3}}, storage, Resource("lighter"), context
    )
    for classifier in (plain, lighter):
        classifier.train(data)
    column = plain.model.classes.index("out_of_scope")
    assert lighter.model.classes == plain.model.classes
    borderline, clear = featurize("what's the balance like tomorrow"), featurize("tell me a joke about the weather")
    before, after = plain.probabilities([borderline, clear]), lighter.probabilities([borderline, clear])
    assert after[0, column] < before[0, column]
    assert lighter.process([clear])[0].get(INTENT)["name"] == "out_of_scope"
