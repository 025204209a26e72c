"""A label written to the reviewed-data file is picked up by training, and a saved conversation
test is read by Rasa (Python 3.10, Rasa's own readers; the console's side runs in the app
environment: tests/console/review/scenario.py).

"Picked up by training" without spending minutes training: ``rasa train`` reads its data through
``TrainingDataImporter`` (rasa.shared.importers), so a line the importer returns under its intent,
with its product annotated, is a line the model trains on. Rasa's validator finds no intent the
domain lacks and no line repeated across intents."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import warnings
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.loading import load_data
from rasa.validator import Validator

from .conftest import APP_PYTHON, ROOT


def console(*args: str) -> dict:
    """The console's side, in the app environment; its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(APP_PYTHON), "-m", "tests.console.review.scenario", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_committed_reviewed_file_loads_empty_and_quietly():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_data(str(ROOT / "nlu_data" / "reviewed.yml"))
    assert data.training_examples == []
    assert not [w for w in caught if "reviewed.yml" in str(w.message)]


def test_a_label_written_by_the_console_is_picked_up_by_training(tmp_path):
    written = console("label", str(tmp_path))
    reviewed = Path(written["reviewed"])
    importer = TrainingDataImporter.load_from_config(
        config_path=str(ROOT / "config.yml"),
        domain_path=str(ROOT / "bot" / "domain"),
        training_data_paths=[str(reviewed.parent), str(ROOT / "stories")],
    )
    nlu = importer.get_nlu_data()
    by_text = {m.get("text"): m for m in nlu.intent_examples}
    for intent, line in written["expected"]:
        message = by_text[line]
        assert (message.get("intent_response_key") or message.get("intent")) == intent, line
    analytics = by_text["we need to add 4 licences for analytics"]
    assert [(e["entity"], e["value"]) for e in analytics.get("entities")] == [("product", "analytics")]
    dialer = by_text["another 2 seats on the dialer please"]
    assert [(e["entity"], e["value"]) for e in dialer.get("entities")] == [("product", "dialer")]
    assert len(nlu.intent_examples) > 3000  # the rest of nlu_data/ beside it

    own = load_data(str(reviewed))
    assert sorted(
        [m.get("intent_response_key") or m.get("intent"), m.get("text")] for m in own.training_examples
    ) == sorted(written["expected"])
    validator = Validator.from_importer(importer)
    assert validator.verify_intents(ignore_warnings=False)
    assert validator.verify_example_repetition_in_intents(ignore_warnings=False)


def test_a_saved_conversation_test_is_read_by_rasa(tmp_path):
    domain = Domain.load(str(ROOT / "bot" / "domain"))
    tracker = DialogueStateTracker.from_events(
        "wv-rasa",
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered(
                "add 5 licences for Inbox",
                intent={"name": "add_licenses", "confidence": 0.93},
                entities=[
                    {"entity": "quantity", "start": 4, "end": 5, "value": 5, "extractor": "AccountEntityExtractor"},
                    {"entity": "product", "start": 19, "end": 24, "value": "inbox", "extractor": "CRFEntityExtractor"},
                ],
            ),
            SlotSet("quantity", 5),
            ActionExecuted("license_form"),
            ActiveLoop("license_form"),
            SlotSet("product", "inbox"),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
            ActionExecuted("action_quote_licenses"),
            BotUttered("5 Inbox licenses for ..."),
            SlotSet("pending_quote", "Q-5001"),
            ActionExecuted("action_listen"),
            UserUttered("what is the weather in oslo", intent={"name": "nlu_fallback", "confidence": 0.21}),
            ActionExecuted("action_fallback"),
            ActionExecuted("action_listen"),
            UserUttered("yes", intent={"name": "affirm", "confidence": 0.99}),
            ActionExecuted("action_confirm"),
            SlotSet("pending_quote", None),
            ActionExecuted("action_listen"),
        ],
        domain.slots,
    )
    database = tmp_path / "rasa.sqlite3"
    asyncio.run(SQLTrackerStore(domain, dialect="sqlite", db=str(database)).save(tracker))

    path = Path(console("save-test", str(tmp_path), str(database))["path"])

    assert YAMLStoryReader.is_test_stories_file(path)
    [story] = YAMLStoryReader(domain).read_from_file(path)
    assert story.block_name == "saved from the console"
    steps = []
    for event in story.events:
        if isinstance(event, UserUttered):
            entities = sorted((e["entity"], e["value"], e["start"], e["end"]) for e in event.entities)
            steps.append(("user", event.text, event.intent_name, entities))
        elif isinstance(event, ActionExecuted):
            steps.append(("action", event.action_name))
        elif isinstance(event, SlotSet):
            steps.append(("slot", event.key, event.value))
        elif isinstance(event, ActiveLoop):
            steps.append(("loop", event.name))
    assert steps == [
        ("user", "add 5 licences for Inbox", "add_licenses", [("product", "inbox", 19, 24), ("quantity", "5", 4, 5)]),
        ("slot", "quantity", 5),
        ("action", "license_form"),
        ("loop", "license_form"),
        ("slot", "product", "inbox"),
        ("slot", "requested_slot", None),
        ("loop", None),
        ("action", "action_quote_licenses"),
        ("slot", "pending_quote", "Q-5001"),
        ("user", "what is the weather in oslo", "out_of_scope", []),  # the reviewer's label
        ("action", "action_fallback"),
        ("user", "yes", "affirm", []),
        ("action", "action_confirm"),
        ("slot", "pending_quote", None),
    ]
