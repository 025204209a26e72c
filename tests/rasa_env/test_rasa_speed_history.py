"""The patches that keep work done on a conversation's history (bot/rasa_server/patches/
prior_states.py, applied_events.py, action_payload.py) give Rasa's own answers: after every event
of every training conversation of ours, and of conversations with undos, a restart, a new session
and forms.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_rasa_speed_history.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    EntitiesAdded,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import patches as rasa_patches
from bot.rasa_server.patches import endpoint_sessions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def conversations() -> tuple[Domain, list[list]]:
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "bot" / "domain"), training_data_paths=[str(ROOT / "stories"), str(ROOT / "nlu_data")]
    )
    domain = importer.get_domain()
    found = [t.events for t in TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()]
    form = next(iter(domain.form_names))
    said = UserUttered("hi", {"name": "greet", "confidence": 1.0})
    found.append(
        [
            ActionExecuted("action_listen"), said, ActionExecuted("utter_greet"), ActionExecuted("action_listen"),
            UserUttered("again", {"name": "greet", "confidence": 1.0}), UserUtteranceReverted(),
            ActionExecuted(form), ActiveLoop(form), SlotSet("requested_slot", "email"), ActionExecuted("action_listen"),
            UserUttered("x", {"name": "inform", "confidence": 1.0}), ActionExecuted(form), ActionReverted(),
            ActionExecuted(form), ActionExecuted(form), ActiveLoop(None), Restarted(), ActionExecuted("action_listen"),
            said, ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"), said,
        ]
    )  # fmt: skip
    # a second form named only late in the session: how Rasa treats its steps changes from then on
    other = sorted(domain.form_names)[-1]
    found.append(
        [
            ActionExecuted("action_listen"), said, ActionExecuted(other), ActionExecuted("action_listen"),
            said, ActionExecuted(other), ActionExecuted(other), ActiveLoop(other), ActionExecuted("action_listen"),
        ]
    )  # fmt: skip
    return domain, found


def _patched(owner: type, name: str, flag: str):
    """Our patch of ``owner.name`` (applied, and marked as ours) and the Rasa function it replaced."""
    rasa_patches.apply()
    patched = getattr(owner, name)
    assert getattr(patched, flag, False)
    return patched, patched.__wrapped_original__


def _live(domain: Domain, events: list, every: int):
    """One live tracker fed the events; yielded after each ``every`` events and after the last."""
    live = DialogueStateTracker("x", domain.slots)
    for i, event in enumerate(events, 1):
        live.update(event)
        if i % every == 0 or i == len(events):
            yield live


def test_prior_states_extend_as_rasa_rebuilds_them(conversations):
    """The state history, asked for on one live tracker as a turn's predictions ask, equals Rasa's
    own rebuild from scratch."""
    domain, found = conversations
    patched, original = _patched(Domain, "states_for_tracker_history", "_extending")
    checked = 0
    for events in found:
        for every in (1, 3, 4):  # a turn adds one event or several between two predictions
            for live in _live(domain, events, every):
                for omit in (False, True):
                    assert patched(domain, live, omit) == original(domain, live, omit), events
                    checked += 1
    assert checked > 1000


def test_applied_events_extend_as_rasa_works_them_out(conversations):
    domain, found = conversations
    patched, original = _patched(DialogueStateTracker, "applied_events", "_extending")
    checked = 0
    for events in found:
        for every in (1, 2, 5):
            for live in _live(domain, events, every):
                mine = patched(live)
                assert [id(e) for e in mine] == [id(e) for e in original(live)], events
                mine.append("changed by a caller")  # a copy: what the tracker keeps is untouched
                assert [id(e) for e in patched(live)] == [id(e) for e in original(live)]
                checked += 1
    assert checked > 500


def _sent(action: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> str:
    return endpoint_sessions.serialise(action._action_call_format(tracker, domain))


def test_action_calls_send_what_rasa_sends(conversations):
    """The body of each call, at every step of every conversation, is the text of ``json.dumps``
    of Rasa's own body; also after the latest message gained entities mid-turn, and for a copy of
    an earlier event changed after it was sent (Rasa's two-stage fallback does that)."""
    domain, found = conversations
    patched, original = _patched(RemoteAction, "_action_call_format", "_encoding_once")
    assert endpoint_sessions.applied()
    action = RemoteAction("action_check_balance", EndpointConfig("http://127.0.0.1:1/webhook"))

    def rasas(tracker: DialogueStateTracker) -> str:
        return json.dumps(original(action, tracker, domain))

    checked = 0
    for events in found:
        for live in _live(domain, events, 2):
            expected = rasas(live)
            assert _sent(action, live, domain) == expected
            assert _sent(action, live, domain) == expected  # the second time from the texts kept
            checked += 1
    assert checked > 300

    # trackers holding the same event objects, longer and shorter, in any order (a session's texts
    # are joined once and extended; a shorter or diverging tracker must not get the longer text)
    longest = max(found, key=len)
    for cut in (len(longest), len(longest) // 3, len(longest) // 2, len(longest) - 1, len(longest)):
        partial = DialogueStateTracker.from_events("y", longest[:cut], domain.slots)
        assert _sent(action, partial, domain) == rasas(partial)
    other = DialogueStateTracker.from_events("y", [*longest[:5], *found[0]], domain.slots)
    assert _sent(action, other, domain) == rasas(other)

    tracker = DialogueStateTracker("x", domain.slots)
    for event in (
        ActionExecuted("action_listen"),
        UserUttered("pay it", {"name": "pay_invoice", "confidence": 0.9}),
        ActionExecuted("action_listen"),
        UserUttered("INV-1042", {"name": "inform", "confidence": 0.9}),
    ):
        tracker.update(event)
    _sent(action, tracker, domain)
    tracker.update(EntitiesAdded([{"entity": "invoice_number", "value": "INV-1042"}]))  # the latest message
    assert _sent(action, tracker, domain) == rasas(tracker)
    earlier = copy.deepcopy(tracker.events[1])  # sent before, now a copy changed as Rasa's fallback does
    earlier.parse_data["intent"]["confidence"] = 1.0
    tracker.update(earlier)
    assert '"confidence": 1.0' in _sent(action, tracker, domain)
    assert _sent(action, tracker, domain) == rasas(tracker)


def _state(tracker: DialogueStateTracker) -> dict:
    """Everything a tracker holds, slots by value, without what our patches keep on it."""
    state = {k: v for k, v in tracker.__dict__.items() if not k.startswith("_aa_") and k != "slots"}
    state["events"] = [id(e) for e in tracker.events]
    state["slots"] = {name: (slot.value, slot.has_been_set, type(slot)) for name, slot in tracker.slots.items()}
    return state


def test_tracker_copies_equal_rasas_replay(conversations):
    domain, found = conversations
    patched, original = _patched(DialogueStateTracker, "copy", "_by_state")
    checked = 0
    for events in found:
        for live in _live(domain, events, 1):
            mine, rasas = patched(live), original(live)
            assert _state(mine) == _state(rasas) == _state(live), events
            if live.active_loop is not None:  # the copy's form state is its own, as after a replay
                assert mine.active_loop is not live.active_loop
            mine.update(SlotSet("requested_slot", "changed in the copy"))
            assert _state(original(live)) == _state(rasas)  # the original is untouched
            checked += 1
    assert checked > 500


def test_rule_states_are_formatted_only_for_debug_logs(caplog):
    import logging

    from rasa.core.policies.policy import Policy

    rasa_patches.apply()
    states = [{"user": {"intent": "greet"}}, {"prev_action": {"action_name": "utter_greet"}}]
    rule_log = logging.getLogger("rasa.core.policies.rule_policy")
    level = rule_log.level
    try:
        rule_log.setLevel(logging.INFO)
        assert Policy.format_tracker_states(states) == ""
        rule_log.setLevel(logging.DEBUG)
        assert "user intent: greet" in Policy.format_tracker_states(states)
        assert Policy.format_tracker_states(states) == Policy.format_tracker_states.__wrapped_original__(states)
    finally:
        rule_log.setLevel(level)


def test_feature_keys_are_rasas(conversations):
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME

    domain, found = conversations
    patched, original = _patched(RulePolicy, "_create_feature_key", "_sliced")
    policy = RulePolicy.__new__(RulePolicy)
    snippet = {"prev_action": {"action_name": RULE_SNIPPET_ACTION_NAME}}
    checked = 0
    for events in found:
        for live in _live(domain, events, 3):
            states = domain.states_for_tracker_history(live)
            for cut in (states, [snippet, *states], [*states[:2], snippet, *states[2:]], [*states, snippet], []):
                assert patched(policy, cut) == original(policy, cut)
                checked += 1
    assert checked > 1000


def test_rule_window_predicts_as_rasa(conversations, tmp_path):
    """RulePolicy trained on our stories and rules, given only the latest states, predicts what it
    predicts given the whole session: in every state of every training conversation, and of long
    sessions made of many of them back to back (forms, loops and all)."""
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RULES_NOT_IN_STORIES, RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    domain, found = conversations
    patched, original = _patched(RulePolicy, "_prediction_states", "_windowed")
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "bot" / "domain"), training_data_paths=[str(ROOT / "stories"), str(ROOT / "nlu_data")]
    )
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    config = {**RulePolicy.get_default_config(), "restrict_rules": True, "enable_fallback_prediction": True}
    policy = RulePolicy.create(
        config, LocalModelStorage(tmp_path), Resource("rules"), ExecutionContext(GraphSchema({}), "test")
    )
    policy.train(trackers, domain)
    rule_keys = {*policy.lookup[RULES], *policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]}
    window = max(len(json.loads(key)) for key in rule_keys) + 1

    def predict(tracker: DialogueStateTracker):
        prediction, source = policy._predict(tracker, domain)
        # the source names the prediction; it matters only as a rule key (hide_rule_turn below)
        named = source if source in rule_keys or source in policy.lookup[RULES_NOT_IN_STORIES] else None
        kept = ("probabilities", "events", "is_end_to_end_prediction", "is_no_user_prediction", "hide_rule_turn")
        return {name: getattr(prediction, name) for name in kept}, named

    sessions = [events for events in found if len(events) > 1]
    with_forms = [events for events in found if any(isinstance(e, ActiveLoop) for e in events)]
    sessions.append([event for events in (with_forms + found)[:60] for event in events])  # a long session
    checked = longer = 0
    for events in sessions:
        for live in _live(domain, events, 1):
            if live.latest_action_name is None:
                continue
            RulePolicy._prediction_states = original
            rasas = predict(live)
            RulePolicy._prediction_states = patched
            assert predict(live) == rasas, live.events
            checked += 1
            longer += len(domain.states_for_tracker_history(live)) > window
    assert checked > 1000 and longer > 500
