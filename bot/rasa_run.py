"""`python -m bot.rasa_run run ...`: the `rasa` command, with fixes to Rasa 3.6's turn hot path
(1-3, 6, 7, and 9 in bot/rasa_speed.py), to its SQL tracker store's connections (4, 8) and to its
math libraries' threads (5).

bot.runner starts Rasa this way (make run, make shell, the end-to-end tests and the bench); the
arguments are `rasa`'s own, except that ``--enable-api`` takes its token from ``RASA_API_TOKEN``
(see ``with_api_token``). Plain `rasa run` works too, slower and without fixes 4 and 8. The speed
fixes were found by profiling the Rasa process during the turn benchmark (py-spy; per-thread CPU
from /proc for 5) and change nothing Rasa does; 4 and 8 change only what happens when the tracker
store's database drops a connection.

1. Action answers: after each custom action, Rasa checks the action server's answer against a JSON schema
with ``jsonschema.validate(answer, schema)``, which first validates the *schema* itself against
the JSON Schema meta-schema (``check_schema``), on every call. With jsonschema 4.17 that costs
about a third of the Rasa process's CPU time per billing turn (measured with py-spy during the
turn benchmark). Here the schema is checked once and its validator kept; every answer is still
validated the same way, with the same error (``best_match``, Rasa's message appended).

2. Event types: reading a tracker turns every stored event back into an object, and Rasa finds
each event's class by walking all subclasses of ``Event`` (with ``inspect.isabstract`` on each)
for every event: 5 % of the process's time under load. The lookup is kept in a dict; an unknown
name still goes through Rasa's own lookup (and its error).

3. Connections to the action server: Rasa opens a new aiohttp session, so a new TCP connection,
for every action call (6 % of the time, and as much again in the action server accepting them).
Here each endpoint keeps one session per event loop and reuses its connections. Idle connections
are dropped after 2 s, before the action server's own keep-alive limit (5 s) could close one
under a request.

4. Tracker store connections: Rasa's SQL tracker store pools its PostgreSQL connections without
checking them, so after PostgreSQL dropped them (a restart, a failover, an idle timeout) the next
turn's read fails, and Rasa's fail-safe wrapper then answers as if the conversation were new: a
customer mid-quote is suddenly a stranger. Here the pool tests a connection before handing it
out (SQLAlchemy's ``pool_pre_ping``) and replaces a dead one.

5. Thread pools: numpy's OpenBLAS starts a worker thread per core, and after every small matrix
product in NLU that worker spins, waiting for more work. Under the turn benchmark's 20 concurrent
conversations the spinning thread burnt about as much CPU as the Rasa server's own thread (7 s
of 10), on a core the action server and the billing backend need: turns/s went from 41 to 49 on
2 cores once it was gone. Our NLU's matrices are a message at a time, too small to split, so the
math libraries (OpenBLAS, OpenMP, TensorFlow's op pools) get one thread each; for TensorFlow
alone that had saved about 10 % of the process's CPU a turn. These are defaults:
a variable already set in the environment wins. They must be set before numpy is imported, so
``main`` sets them first.

6. Slot copies: every tracker Rasa builds (reading one from the store, and again for each
prediction's state history) copies each of the domain's slots with ``copy.copy``, which goes through
the generic ``__reduce_ex__`` machinery: 6 % of the process's time under load. Slots get a
``__copy__`` that does what that machinery does for them: a new object with the same ``__dict__``.

7. Rule lookup: RulePolicy finds the rules that match a conversation by re-reading each of its
234 rules from its JSON key (a list reversed, lists turned into tuples) for each rule at each
step, and walks the whole conversation even once no rule is left (8 % of the time, twice a turn).
Here each key is parsed once, and the walk stops when nothing more can change: the same keys,
checked against Rasa's own code over every state of our training conversations.

8. Tracker reads cut off: fix 4 replaces a connection that died while idle in the pool, but one
cut in the middle of the read (PostgreSQL restarted, a failover, a dropped TCP connection) raised
to Rasa's fail-safe wrapper, which answered as if the conversation were new (3 turns in 4 runs
of tests/e2e/test_faults_prod.py; none in 5 with this fix): a customer mid-quote was a stranger, and the empty conversation
saved over theirs became their latest session. Here a read whose connection was lost is tried
once more on a fresh connection, and if the database still cannot be read the turn fails (the
gateway tells the customer to try again; nothing was changed) instead of starting afresh. Other
read errors still get Rasa's fail-safe answer. A save cut off the same way is tried once more too
(its transaction was rolled back, and a save writes only the events not stored yet); if that
fails as well, Rasa's wrapper keeps the turn in memory as before: the customer hears what
happened (an order placed, say), which failing the turn would hide.
"""
from __future__ import annotations

import sys
from typing import Any


def _patch_action_result_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    original = getattr(RemoteAction, "_validate_action_result", None)
    if original is None or getattr(original, "_cached_validator", False):
        return  # another Rasa version, or already done
    validator = None

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        nonlocal validator
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validator_for(schema)
            cls.check_schema(schema)  # once, as jsonschema.validate would on every call
            validator = cls(schema)
        error = best_match(validator.iter_errors(result))
        if error is not None:
            assert isinstance(error, ValidationError)
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    _validate_action_result._cached_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _patch_event_type_lookup() -> None:
    from rasa.shared.core.events import Event

    original = Event.__dict__["resolve_by_type"].__func__
    if getattr(original, "_cached", False):
        return
    known: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = known.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and found is not default:
                known[type_name] = found
        return found

    resolve_by_type._cached = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


KEEP_ALIVE_S = 2.0


class _KeptSession:
    """``async with endpoint.session() as s`` without closing ``s`` at the end."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def _patch_endpoint_sessions() -> None:
    import asyncio
    import weakref

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    original = EndpointConfig.session
    if getattr(original, "_kept", False):
        return

    def session(self: EndpointConfig) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return original(self)  # not in a loop: Rasa's own, closed after use
        kept = self.__dict__.setdefault("_kept_sessions", weakref.WeakKeyDictionary())
        current = kept.get(loop)
        if current is None or current.closed:
            # what Rasa's session() sets (headers, basic auth, timeout), plus the keep-alive limit
            auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                    if self.basic_auth else None)
            current = kept[loop] = aiohttp.ClientSession(
                headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_S))
        return _KeptSession(current)

    session._kept = True  # type: ignore[attr-defined]
    EndpointConfig.session = session  # type: ignore[method-assign]


def _patch_tracker_store_pings() -> None:
    import rasa.core.tracker_store as tracker_store

    original = tracker_store.create_engine_kwargs
    if getattr(original, "_pings", False):
        return

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        kwargs = original(url)
        if tracker_store.is_postgresql_url(url):
            kwargs["pool_pre_ping"] = True
        return kwargs

    create_engine_kwargs._pings = True  # type: ignore[attr-defined]
    tracker_store.create_engine_kwargs = create_engine_kwargs


def _patch_slot_copies() -> None:
    from rasa.shared.core.slots import Slot

    if "__copy__" in Slot.__dict__:
        return

    def __copy__(self: Slot) -> Slot:
        # what copy.copy does for a plain object (copyreg's __reduce_ex__, then _reconstruct)
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)
        return new

    Slot.__copy__ = __copy__  # type: ignore[attr-defined]


def _patch_rule_lookup() -> None:
    import functools

    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import PREVIOUS_ACTION

    original = RulePolicy._get_possible_keys
    if getattr(original, "_indexed", False):
        return

    @functools.lru_cache(maxsize=4096)
    def reversed_states(rule_key: str) -> tuple[dict, ...]:
        """A rule's states, newest first, with JSON's lists back as the tuples the states hold."""
        states = RulePolicy._rule_key_to_state(rule_key)
        return tuple({kind: {k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()}
                      for kind, sub in state.items()} for state in reversed(states))

    match = RulePolicy._does_rule_match_state

    def applicable(rule: tuple[dict, ...], turn: int, state: dict) -> bool:
        # RulePolicy._is_rule_applicable, on the pre-parsed rule
        if turn >= len(rule):
            return True
        rule_previous, current_previous = rule[turn].get(PREVIOUS_ACTION), state.get(PREVIOUS_ACTION)
        if not rule_previous and not current_previous:
            return True
        if not rule_previous or not current_previous:
            return False
        return match(rule[turn], state)

    def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[dict]) -> set[str]:
        keys = [(key, reversed_states(key)) for key in lookup]
        for turn, state in enumerate(reversed(states)):
            # Rasa goes on through the whole history; nothing changes once no rule is left or every
            # rule left is shorter than the turns already looked at (the rest are applicable)
            if not keys or all(turn >= len(rule) for _, rule in keys):
                break
            keys = [(key, rule) for key, rule in keys if applicable(rule, turn, state)]
        return {key for key, _ in keys}

    _get_possible_keys._indexed = True  # type: ignore[attr-defined]
    _get_possible_keys.__wrapped_original__ = original  # type: ignore[attr-defined]
    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]


def _patch_tracker_reads() -> None:
    import logging

    from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
    from sqlalchemy.exc import DBAPIError

    read = SQLTrackerStore._retrieve
    if getattr(read, "_retried", False):
        return
    log = logging.getLogger(__name__)

    async def once_more(what: str, first: Any, again: Any) -> Any:
        """``first()``; if its database connection was lost, ``again()`` (on a fresh connection:
        the pool drops the dead one and fix 4 tests the next before handing it out)."""
        try:
            return await first()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("a conversation %s lost its database connection (%s); trying once more", what,
                        error.orig.__class__.__name__)
        return await again()

    async def _retrieve(self: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        def attempt() -> Any:
            return read(self, sender_id, fetch_events_from_all_sessions)

        return await once_more("read", attempt, attempt)

    write = SQLTrackerStore.save

    async def save(self: SQLTrackerStore, tracker: Any) -> None:
        async def store_only() -> None:
            # The events went to the event broker (if any) before the failed write: store only.
            # Nothing awaits between here and the restore (no broker: stream_events returns at
            # once; the write is synchronous), so no other turn sees the broker missing.
            broker, self.event_broker = self.event_broker, None
            try:
                return await write(self, tracker)
            finally:
                self.event_broker = broker

        return await once_more("save", lambda: write(self, tracker), store_only)

    def failing_turn(name: str) -> Any:
        async def method(self: FailSafeTrackerStore, sender_id: str) -> Any:
            try:
                return await getattr(self._tracker_store, name)(sender_id)
            except DBAPIError:
                raise  # the database could not be read: fail the turn rather than start afresh
            except Exception as error:  # noqa: BLE001 - what Rasa's wrapper does with anything else
                self.on_tracker_store_retrieve_error(error)
                return None

        return method

    _retrieve._retried = True  # type: ignore[attr-defined]
    SQLTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]
    SQLTrackerStore.save = save  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve = failing_turn("retrieve")  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve_full_tracker = failing_turn("retrieve_full_tracker")  # type: ignore[method-assign]


def patch_rasa() -> None:
    """All the fixes above that patch Rasa (each is applied once, however often this is called)."""
    _patch_action_result_validation()
    _patch_event_type_lookup()
    _patch_endpoint_sessions()
    _patch_tracker_store_pings()
    _patch_slot_copies()
    _patch_rule_lookup()
    _patch_tracker_reads()
    from bot.rasa_speed import patch_rasa_more

    patch_rasa_more()  # fix 9 and on, in bot/rasa_speed.py


ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1",
}


def one_thread_pools(environ: dict[str, str]) -> None:
    """Fix 5: one thread per math library, where the environment does not say otherwise."""
    for name, value in ONE_THREAD.items():
        environ.setdefault(name, value)


API_TOKEN_ENV = "RASA_API_TOKEN"


def with_api_token(argv: list[str], environ: dict[str, str]) -> list[str]:
    """``--enable-api`` (Rasa's HTTP API: the handoff bridge pauses conversations and records the
    rep's messages through it) only with a token: ``--auth-token`` from ``RASA_API_TOKEN``, added
    here rather than by the caller so the secret stays out of the process list. Without a token
    the API is refused, never served open."""
    if "--enable-api" not in argv or "--auth-token" in argv:
        return argv
    token = environ.get(API_TOKEN_ENV, "").strip()
    if not token:
        raise SystemExit(f"rasa: --enable-api needs a token: set {API_TOKEN_ENV} (Rasa's HTTP API is never served "
                         "without one)")
    return [*argv, "--auth-token", token]


def unsafe_settings(argv: list[str], environ: dict[str, str]) -> None:
    """In production, refuse the development or example secrets Rasa would use: the gateway
    channel's token, the action server's secret, the HTTP API's token, and the Redis lock store's
    password (bot/settings_check.py)."""
    from bot.settings_check import refuse_unsafe

    if "run" not in argv[1:2]:
        return  # train, test, shell...: nothing listens
    secrets = {"GATEWAY_TOKEN": environ.get("GATEWAY_TOKEN"), "ACTION_SERVER_TOKEN": environ.get("ACTION_SERVER_TOKEN")}
    if "--enable-api" in argv:
        secrets["RASA_API_TOKEN"] = environ.get("RASA_API_TOKEN")
    if environ.get("REDIS_HOST"):  # the production endpoints' lock store: Redis AUTH required
        secrets["REDIS_PASSWORD"] = environ.get("REDIS_PASSWORD")
    refuse_unsafe("rasa", secrets, environ=environ)


def main() -> None:
    import os

    unsafe_settings(sys.argv, dict(os.environ))
    if "numpy" not in sys.modules:  # too late otherwise: OpenBLAS reads its variable when loaded
        one_thread_pools(os.environ)  # type: ignore[arg-type]
    sys.argv = with_api_token(sys.argv, dict(os.environ))
    patch_rasa()
    from bot.nlu.cards import redact_logs

    redact_logs()  # Rasa logs what users said (debug level): never a card number
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
