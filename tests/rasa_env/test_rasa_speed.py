"""What bot/rasa_server/tracker_store.py and bot/rasa_server/patches/ change in Rasa, and what they
must not change: the tracker store keeps Rasa's SQL tables and data, on a WAL journal with pooled
connections;
action-server answers are still validated against Rasa's schema, with Rasa's error; event types
resolve as Rasa resolves them; calls to the action server share a connection; the server's math
libraries run on one thread; slots still copy as copy.copy copied them; RulePolicy's lookup finds
the rules Rasa's own finds; graph runs call the nodes dask calls, in dask's order, with the same
answers.

Run with:  .venv/rasa/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env \
           tests/rasa_env/test_rasa_speed.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.rasa_server import patches as rasa_patches
from bot.rasa_server.patches import action_results
from bot.rasa_server.tracker_store import SQLiteTrackerStore
from tests.rasa_env.conftest import model_or_skip

DOMAIN = Domain.from_dict(
    {"intents": ["greet"], "slots": {"invoice_number": {"type": "text", "mappings": [{"type": "custom"}]}}}
)


def _tracker(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("hello", {"name": "greet", "confidence": 1.0}, metadata={"identity": {"email": "a@b.example"}}),
            SlotSet("invoice_number", "INV-1041"),
            BotUttered("hi"),
            ActionExecuted("action_listen"),
        ],
        slots=DOMAIN.slots,
    )
    return tracker


def _save_twice_and_read(store: SQLTrackerStore, sender: str) -> list[dict]:
    tracker = _tracker(sender)
    asyncio.run(store.save(tracker))
    tracker.update(UserUttered("hello again", {"name": "greet", "confidence": 1.0}))
    asyncio.run(store.save(tracker))
    return [e.as_dict() for e in asyncio.run(store.retrieve(sender)).events]


def _rows(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT sender_id, type_name, intent_name, action_name FROM events ORDER BY id").fetchall()


def test_the_tracker_store_keeps_rasas_tables_and_data(tmp_path):
    ours_db, rasas_db = tmp_path / "ours.sqlite3", tmp_path / "rasa.sqlite3"
    ours = SQLiteTrackerStore(domain=DOMAIN, db=str(ours_db), dialect="sqlite", host=None)
    rasas = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(rasas_db))
    read = _save_twice_and_read(ours, "alice")
    assert [e["event"] for e in read][:4] == ["session_started", "action", "user", "slot"]
    assert [{k: v for k, v in e.items() if k != "timestamp"} for e in read] == [
        {k: v for k, v in e.items() if k != "timestamp"} for e in _save_twice_and_read(rasas, "alice")
    ]
    assert _rows(ours_db) == _rows(rasas_db)
    assert read[3]["value"] == "INV-1041"
    ours.engine.dispose()

    with sqlite3.connect(ours_db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Rasa's own SQL store reads what ours wrote, and the other way round.
    assert [
        e.as_dict() for e in asyncio.run(SQLTrackerStore(domain=DOMAIN, db=str(ours_db)).retrieve("alice")).events
    ] == read
    asyncio.run(rasas.save(_tracker("bob")))
    reopened = SQLiteTrackerStore(domain=DOMAIN, db=str(rasas_db))
    assert asyncio.run(reopened.retrieve("bob")).get_slot("invoice_number") == "INV-1041"
    assert sorted(asyncio.run(reopened.keys())) == ["alice", "bob"]


def test_endpoints_yml_names_the_store(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "the-action-servers-secret")
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "t.sqlite3"))
    config = read_endpoint_config("bot/endpoints.yml", "tracker_store")
    from rasa.core.tracker_store import TrackerStore

    store = TrackerStore.create(config, domain=DOMAIN)
    inner = getattr(store, "_tracker_store", store)
    inner = getattr(inner, "_tracker_store", inner)
    assert isinstance(inner, SQLiteTrackerStore)
    assert inner.engine.url.database == str(tmp_path / "t.sqlite3")
    # and Rasa sends the action server its secret on every call
    actions = read_endpoint_config("bot/endpoints.yml", "action_endpoint")
    assert actions.headers == {"Authorization": "Bearer the-action-servers-secret"}


def test_action_answers_are_still_validated():
    action_results.apply()
    action_results.apply()  # twice is harmless
    action = RemoteAction("action_check_balance", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "You owe $10.00."}]}
    )
    with pytest.raises(ValidationError) as raised:
        action._validate_action_result({"events": [{"event": "slot", "value": 1, "timestamp": "noon"}]})
    assert "Failed to validate Action server response" in raised.value.message


def test_event_types_resolve_as_rasa_resolves_them():
    from rasa.shared.core.events import Event

    rasa_patches.apply()
    rasa_patches.apply()
    assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("user") is UserUttered  # from the dict this time
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards-compatible answer
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


async def test_calls_to_an_endpoint_reuse_one_connection():
    """Three action calls, one TCP connection; the server still sees Rasa's headers."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    rasa_patches.apply()
    peers, auth = [], []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername")[1])
        auth.append(request.headers.get("X-Test"))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Test": "yes"})
        for _ in range(3):
            assert await endpoint.request(json={"next_action": "x"}, method="post") == {"events": [], "responses": []}
        assert len(peers) == 3 and len(set(peers)) == 1 and auth == ["yes"] * 3
    finally:
        async with endpoint.session() as session:
            await session.close()
        await runner.cleanup()


_THREADS_PROBE = """
import atexit, json, os, sys
from bot.rasa_server import run as rasa_run

def report():
    from threadpoolctl import threadpool_info
    blas = {i["internal_api"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    tf = {k: os.environ.get(k) for k in ("TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS")}
    print(json.dumps({"blas": blas, "tf": tf}))

atexit.register(report)
sys.argv = ["rasa", "--version"]
rasa_run.main()
"""


@pytest.mark.parametrize("preset, blas_threads", [(None, 1), ("2", 2)])
def test_the_rasa_server_runs_its_math_libraries_on_one_thread(preset, blas_threads):
    """No spinning OpenBLAS worker beside the server's own thread : numpy, loaded by Rasa
    after bot.rasa_server's main starts, has one BLAS thread, and TensorFlow's pools one thread
    each; a value already in the environment is kept."""
    from bot.rasa_server.patches.thread_pools import ONE_THREAD

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ONE_THREAD}
    env.update({"PYTHONPATH": str(root), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"})
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    done = subprocess.run(
        [sys.executable, "-c", _THREADS_PROBE], cwd=root, env=env, capture_output=True, text=True, timeout=180
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["blas"] and set(report["blas"].values()) == {blas_threads}, report
    assert report["tf"] == {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}


def test_slots_copy_as_copy_copy_copied_them():
    """a tracker's slots are still separate shallow copies of the domain's."""
    import copy

    from rasa.shared.core.slots import CategoricalSlot

    rasa_patches.apply()
    slot = CategoricalSlot(
        "edition", mappings=[{"type": "custom"}], values=["essentials", "enterprise"], influence_conversation=True
    )
    slot.value = "enterprise"
    copied = copy.copy(slot)
    assert type(copied) is CategoricalSlot and copied is not slot and vars(copied) == vars(slot)
    copied.value = "essentials"
    assert slot.value == "enterprise"
    tracker = DialogueStateTracker("s", DOMAIN.slots)  # copies the domain's slots
    tracker.update(SlotSet("invoice_number", "INV-1041"))
    assert tracker.get_slot("invoice_number") == "INV-1041" and DOMAIN.slots[0].value is None


def test_rule_lookup_finds_the_keys_rasas_finds(tmp_path):
    """RulePolicy trained on our stories and rules finds the same rule keys, and predicts
    the same action, as Rasa's own lookup, in every state of every training conversation."""
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    rasa_patches.apply()
    patched = RulePolicy._get_possible_keys
    assert getattr(patched, "_indexed", False)
    original = patched.__wrapped_original__

    root = Path(__file__).resolve().parents[2]
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(root / "bot" / "domain"), training_data_paths=[str(root / "stories"), str(root / "nlu_data")]
    )
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    config = {**RulePolicy.get_default_config(), "restrict_rules": True, "enable_fallback_prediction": True}
    policy = RulePolicy.create(
        config, LocalModelStorage(tmp_path), Resource("rules"), ExecutionContext(GraphSchema({}), "test")
    )
    policy.train(trackers, domain)
    assert len(policy.lookup[RULES]) > 100

    checked = 0
    for tracker in trackers:
        for prior, _ in tracker.generate_all_prior_trackers():
            for use_text in (False, True):
                states = policy._prediction_states(prior, domain, use_text, rule_only_data=policy._get_rule_only_data())
                # and the rare shapes: no step yet, a last step that follows no action
                no_previous = (
                    [*states[:-1], {k: v for k, v in states[-1].items() if k != "prev_action"}] if states else []
                )
                for lookup in (policy.lookup[RULES], policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]):
                    for cut in (states, no_previous):
                        assert patched(policy, lookup, cut) == original(policy, lookup, cut), cut
                        checked += 1
    assert checked > 1000


class _Node:
    """A graph node that notes its calls and answers (its name, what it was given), as GraphNode does."""

    def __init__(self, name: str, calls: list[str], fail: type[Exception] | None = None) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    def __call__(self, *given):
        self.calls.append(self.name)
        if self.fail is not None:
            raise self.fail(f"{self.name} failed")
        return self.name, (self.name, given)


def _runner(calls: list[str], fail: dict | None = None):
    """A DaskGraphRunner over a graph with a diamond, a branch from the input, a need nobody
    provides, and two targets."""
    from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner

    needs = {
        "a": {"m": "__message__"},
        "b": {"x": "a"},
        "c": {"x": "a"},
        "d": {"x": "c", "y": "b"},
        "e": {"m": "__message__", "t": "__tracker__"},
        "f": {"d": "d", "e": "e", "z": "__nobody__"},
        "unused": {"x": "a"},
    }
    schema = GraphSchema(
        {
            name: SchemaNode(
                needs=n, uses=object, constructor_name="create", fn="run", config={}, is_target=name in ("f", "c")
            )
            for name, n in needs.items()
        }
    )
    runner = object.__new__(DaskGraphRunner)
    runner._graph_schema, runner._execution_context = schema, ExecutionContext(schema, "test")
    runner._instantiated_nodes = {name: _Node(name, calls, (fail or {}).get(name)) for name in needs}
    return runner


def test_graph_runs_run_the_nodes_dask_runs_in_its_order(monkeypatch):
    """later runs of a graph call the same nodes as dask, in dask's order, with the same
    arguments, return the same results and raise the same errors, without dask."""
    import dask
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    rasa_patches.apply()
    patched = DaskGraphRunner.run
    assert getattr(patched, "_replayed", False)
    original = patched.__wrapped_original__
    dask_runs = []
    real_get = dask.get
    monkeypatch.setattr(dask, "get", lambda *a, **k: dask_runs.append(1) or real_get(*a, **k))

    for targets in (["f"], ["f", "c"], None, ["__message__", "b"]):
        for inputs in ({"__message__": ["hello"], "__tracker__": {"sender": "s"}}, {"__message__": ["hi"]}):
            rasas_calls, our_calls = [], []
            expected = original(_runner(rasas_calls), inputs=inputs, targets=targets)
            ours = _runner(our_calls)
            runs_before = len(dask_runs)
            for _ in range(3):
                our_calls.clear()
                assert patched(ours, inputs=dict(inputs), targets=targets) == expected
                assert our_calls == rasas_calls
            assert len(dask_runs) - runs_before == 1  # the first run only
            if targets == ["f"]:  # what dask leaves out, and a need nobody provides (it stays a name)
                assert "unused" not in rasas_calls and "__nobody__" in str(expected)

    inputs = {"__message__": ["hello"], "__tracker__": {}}
    for error, raised in ((RuntimeError, GraphRunError), (ValueError, ValueError)):
        runner = _runner([], fail={"e": error})
        for _ in range(2):
            with pytest.raises(raised):
                patched(runner, inputs=inputs, targets=["f"])
        runner = _runner([])
        patched(runner, inputs=inputs, targets=["f"])
        runner._instantiated_nodes["e"].fail = error
        with pytest.raises(raised):
            patched(runner, inputs=inputs, targets=["f"])
    with pytest.raises(GraphRunError, match="clashes"):
        patched(runner, inputs={"__message__": "a", "__tracker__": {}}, targets=["f"])


def test_graph_runs_of_our_model_give_rasas_answers():
    """On our trained model, graph runs give the same NLU parse and the same policy prediction as dask's run.
    `make test` trains the model first; run alone without one, this skips (under CI=true, fails)."""
    from rasa.core.agent import Agent
    from rasa.core.channels import UserMessage
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import ActionExecuted

    rasa_patches.apply()
    patched = DaskGraphRunner.run
    original = patched.__wrapped_original__
    agent = Agent.load(str(model_or_skip()))
    processor = agent.processor

    def both(call):
        answers = []
        for run in (original, patched, patched):
            DaskGraphRunner.run = run
            try:
                answers.append(call())
            finally:
                DaskGraphRunner.run = patched
        return answers

    for text in [
        "what's my balance?",
        "show me my latest invoice",
        "add 5 licenses",
        "hi",
        "I want to talk to sales",
        "4111 1111 1111 1111",
        '/add_licenses{"quantity": 3}',
    ]:
        tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")], slots=agent.domain.slots)
        message = UserMessage(text)
        parses = both(lambda message=message, tracker=tracker: asyncio.run(processor.parse_message(message, tracker)))
        assert parses[0] == parses[1] == parses[2], text
        tracker.update(UserUttered(text, parses[0]["intent"], parses[0]["entities"]))
        predictions = both(lambda tracker=tracker: processor._predict_next_with_tracker(tracker))
        assert (
            len(
                {
                    (
                        p.max_confidence_index,
                        tuple(p.probabilities),
                        p.policy_name,
                        json.dumps([{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in p.events]),
                    )
                    for p in predictions
                }
            )
            == 1
        ), text


def test_the_patches_refuse_a_rasa_they_were_not_verified_on():
    rasa_patches.check_version(rasa_patches.VERIFIED_ON)
    with pytest.raises(SystemExit, match=r"verified on Rasa 3\.6\.21, and Rasa 3\.6\.22 is installed"):
        rasa_patches.check_version("3.6.22")


def test_patches_can_be_turned_off_by_name_and_unknown_names_are_refused():
    assert rasa_patches.turned_off({"RASA_PATCHES_OFF": "rule_lookup, graph_runs"}) == {"rule_lookup", "graph_runs"}
    with pytest.raises(SystemExit, match="no such patch"):
        rasa_patches.apply({"RASA_PATCHES_OFF": "rule_lookups"})
    assert "rule_lookup" not in rasa_patches.apply({"RASA_PATCHES_OFF": "rule_lookup"})
