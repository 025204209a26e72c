"""The review inbox (api.ReviewInbox): what the assistant did not understand or got wrong, grouped
so that a reviewer labels many messages at once; the labels written to the reviewed-data file that
``make train`` trains on; a conversation saved as a conversation test.

Why a message is in the inbox is the indexer's decision, stored in ``console_messages.review``
(index.py applies the definitions in reasons.py): ``fallback`` (the NLU fell back, or a fallback
action answered), ``low_confidence`` (understood, but unsure), ``declined_suggestion`` (the
customer said no to "did you mean ...?"), ``out_of_scope_retried`` (taken as out of scope, and the
customer asked again for something the assistant does), ``not_helpful`` (it started a task the customer rated not
helpful), ``handoff_after_miss`` (a person was asked for soon after a miss).

- ``groups``: the unlabelled messages with a reason, at most the ``MAX_CANDIDATES`` most recent,
  grouped by grouping.py (exact duplicates together, then similar phrasings); a group's key is a
  hash of its member ids, its suggestion the intent most members were given that a reviewer can
  choose. Largest groups first, then the most recent. Grouping 1,000 distinct phrasings takes
  0.1-0.3 s on a laptop core; the groups of the last candidates read are kept per reason and reused
  while the candidates (their rows as read) are the same, so a reload costs only the query.
- ``label``: checks everything first (a known intent, messages that exist and carry no label yet, a
  reviewer, at most ``MAX_LABEL`` ids; any indexed customer message may be labelled, not only those
  in the inbox, so that a transcript's line can be), then under the reviewed file's lock and in one database
  transaction marks the rows (``label``, ``labelled_by``, ``labelled_at``; an UPDATE that only
  touches rows still unlabelled, so a second reviewer, or the same form posted twice, is refused)
  and rewrites the file (reviewed_data.py). The rows are committed after the file is renamed into
  place; if the commit fails the old file is put back. Each message's text becomes a training line
  as training_line.py says, or is labelled without one (a card number, a known or held-out line...).
  Any refusal is ``BadLabel`` with the reason, and nothing is written.
- ``save_test``: conversation_tests.py, from Rasa's tracker store (``tracker_engine``: the console's
  own tables keep neither the actions nor the entities a test needs) and the labels.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection, Engine, Row

from bot.console.data import conversation_tests
from bot.console.data.api import BadLabel, ReviewGroup, ReviewItem, ReviewReason
from bot.console.data.domain_intents import DomainIntents
from bot.console.data.grouping import Cluster, Weights, cluster, normal_form
from bot.console.data.nlu_files import Known, NluFiles, plain
from bot.console.data.reviewed_data import LOCK_WAIT_S, ReviewedFile, ReviewedFileError, parse, render
from bot.console.data.tables import messages
from bot.console.data.training_line import Line, one_line, training_line

log = logging.getLogger(__name__)

REASONS: tuple[str, ...] = get_args(ReviewReason)
MAX_CANDIDATES = 1000  # messages grouped per call: about 0.1-0.2 s of grouping at worst
MAX_GROUPS = 200
MAX_LABEL = 500  # ids in one label
MAX_EVENTS = 5000  # of one conversation, for a test: the most recent
_EVENTS = text("SELECT id, type_name, data FROM events WHERE sender_id = :sender ORDER BY id DESC LIMIT :limit")


class Review:
    """``ReviewInbox`` over the console's tables; see the module docstring.

    ``reviewed_file``: nlu_data/reviewed.yml (the other files of its folder are the training data
    it must not repeat); ``tests_dir``: where saved tests go (tests/conversations); ``domain_dir``:
    bot/domain. ``tracker_engine``: Rasa's tracker store, for ``save_test`` only. ``dev_dir`` and
    ``eval_fingerprints``: the held-out lines (default: ``nlu_dev/`` and
    ``tests/nlu_data/eval_fingerprints.txt`` beside the reviewed file's folder, where present).
    """

    def __init__(
        self,
        console_engine: Engine,
        *,
        reviewed_file: Path,
        tests_dir: Path,
        domain_dir: Path,
        tracker_engine: Engine | None = None,
        dev_dir: Path | None = None,
        eval_fingerprints: Path | None = None,
        lock_wait_s: float = LOCK_WAIT_S,
    ) -> None:
        root = reviewed_file.resolve().parent.parent
        self.engine, self.tracker = console_engine, tracker_engine
        self.file = ReviewedFile(reviewed_file, lock_wait_s=lock_wait_s)
        self.tests_dir = tests_dir
        self.nlu = NluFiles(
            reviewed_file.parent,
            reviewed_file,
            dev=dev_dir or root / "nlu_dev",
            fingerprints=eval_fingerprints or root / "tests" / "nlu_data" / "eval_fingerprints.txt",
        )
        self.domain = DomainIntents(domain_dir)
        self._weights: tuple[Known, Weights] | None = None
        self._grouped: dict[str | None, tuple[int, list[Cluster[ReviewItem]]]] = {}

    # -- the inbox ------------------------------------------------------------------------------------

    def groups(self, reason: ReviewReason | None = None, limit: int = 50) -> list[ReviewGroup]:
        if reason is not None and reason not in REASONS:
            raise ValueError(f"unknown review reason {reason!r}: one of {', '.join(REASONS)}")
        limit = max(0, min(int(limit), MAX_GROUPS))
        if not limit:
            return []
        query = select(
            messages.c.id, messages.c.sender, messages.c.at, messages.c.text, messages.c.intent,
            messages.c.confidence, messages.c.review,
        ).where(messages.c.review.is_not(None), messages.c.label.is_(None))  # fmt: skip
        if reason is not None:
            query = query.where(messages.c.review == reason)
        query = query.order_by(messages.c.at.desc(), messages.c.id.desc()).limit(MAX_CANDIDATES)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        # the same candidates as last time (a page reloaded, another reason's tab): the same groups
        signature = hash(tuple(tuple(row) for row in rows))
        known = self._grouped.get(reason)
        if known is None or known[0] != signature:
            clusters = cluster(
                [_item(row) for row in rows],
                text=lambda i: i.text,
                ident=lambda i: i.message_id,
                recency=lambda i: (i.at.timestamp(), i.message_id),
                weights=self._similarity(),
            )
            known = self._grouped[reason] = (signature, clusters)
        choosable = set(self.intents())
        return [ReviewGroup(c.key, list(c.items), _suggestion(c.items, choosable)) for c in known[1][:limit]]

    def _similarity(self) -> Weights:
        known = self.nlu.known()
        if self._weights is None or self._weights[0] is not known:
            self._weights = (known, Weights(known.corpus))
        return self._weights[1]

    def intents(self) -> list[str]:
        return self.domain.intents()

    # -- labels ---------------------------------------------------------------------------------------

    def label(self, message_ids: list[int], intent: str, reviewer: str) -> int:
        ids = _ids(message_ids)
        who = _reviewer(reviewer)
        if intent not in self.intents():
            raise BadLabel(f"{intent!r} is not an intent of the assistant: choose one of the list, or out of scope")
        try:
            with self.file.locked():
                return self._label(ids, intent, who)
        except ReviewedFileError as exc:
            raise BadLabel(f"nothing was labelled: {self.file.path.name}: {exc}") from exc

    def _label(self, ids: list[int], intent: str, reviewer: str) -> int:
        known = self.nlu.known()
        before = self.file.read()
        blocks = parse(before)
        with self.engine.connect() as conn:
            tx = conn.begin()
            try:
                rows = _rows(conn, ids)
                lines, skipped = _lines(rows, intent, known, blocks)
                now = datetime.now(timezone.utc)
                changed = conn.execute(
                    update(messages)
                    .where(messages.c.id.in_(ids), messages.c.label.is_(None))
                    .values(label=intent, labelled_by=reviewer, labelled_at=now)
                ).rowcount
                if changed != len(ids):
                    raise BadLabel("nothing was labelled: another reviewer labelled some of these messages meanwhile")
                if lines:
                    blocks.setdefault(intent, []).extend(line.text for line in lines)
                    content = render(blocks)
                    if parse(content) != blocks:
                        raise RuntimeError("the reviewed-data file would not read back as written")
                    self.file.replace(content)
                try:
                    tx.commit()
                except BaseException:
                    if lines:
                        self._restore(before)
                    raise
            finally:
                if tx.is_active:
                    tx.rollback()
        log.info(
            "review: %s labelled %d messages %s; %d lines added to %s%s",
            reviewer, len(ids), intent, len(lines), self.file.path.name,
            f", not written: {dict(skipped)}" if skipped else "",
        )  # fmt: skip
        return len(lines)

    def _restore(self, before: str) -> None:
        if before:
            self.file.replace(before)
        else:
            self.file.path.unlink(missing_ok=True)

    # -- conversation tests ---------------------------------------------------------------------------

    def save_test(self, sender: str, name: str, reviewer: str) -> str:
        stem = conversation_tests.file_stem(name)
        if not stem:
            raise BadLabel("a test needs a name with at least one letter or digit")
        who = _reviewer(reviewer)
        if self.tracker is None:
            raise BadLabel("saving a conversation test needs Rasa's tracker store, which this console is not given")
        with self.tracker.connect() as conn:
            rows = conn.execute(_EVENTS, {"sender": sender, "limit": MAX_EVENTS}).all()
        if not rows:
            raise BadLabel(f"Rasa's tracker store holds no conversation {sender!r} (erased, or never held)")
        with self.engine.connect() as conn:
            labelled = conn.execute(
                select(messages.c.event_id, messages.c.label).where(
                    messages.c.sender == sender, messages.c.label.is_not(None)
                )
            ).all()
        found = conversation_tests.stories(_events(rows), {r.event_id: r.label for r in labelled}, one_line(name)[:100])
        if not found:
            raise BadLabel("this conversation has no customer message to test")
        try:
            content = conversation_tests.render(found, reviewer=who, at=datetime.now(timezone.utc))
        except ValueError as exc:
            raise BadLabel(f"this conversation cannot be written as a test: {exc}") from exc
        path = conversation_tests.write_new(self.tests_dir, stem, content)
        log.info("review: %s saved conversation %s as %s", who, sender, path.name)
        return str(path)


# -- helpers ------------------------------------------------------------------------------------------


def _item(row: Row[Any]) -> ReviewItem:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=timezone.utc)  # SQLite keeps no zone
    return ReviewItem(row.id, row.sender, at, row.text, row.intent, row.confidence, row.review)


def _suggestion(items: Sequence[ReviewItem], choosable: set[str]) -> str | None:
    """The intent most members were given, among those a reviewer can choose; ties go to the
    higher summed confidence, then the name."""
    counts: Counter[str] = Counter()
    confidence: dict[str, float] = {}
    for item in items:
        if item.intent is not None and item.intent in choosable:
            counts[item.intent] += 1
            confidence[item.intent] = confidence.get(item.intent, 0.0) + (item.confidence or 0.0)
    if not counts:
        return None
    return min(counts, key=lambda i: (-counts[i], -confidence[i], i))


def _ids(message_ids: Sequence[object]) -> list[int]:
    if isinstance(message_ids, (str, bytes)) or not isinstance(message_ids, Sequence):
        raise BadLabel("choose the messages to label")
    ids: list[int] = []
    for value in message_ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadLabel(f"{value!r} is not a message id")
        if value not in ids:
            ids.append(value)
    if not ids:
        raise BadLabel("choose at least one message to label")
    if len(ids) > MAX_LABEL:
        raise BadLabel(f"{len(ids)} messages at once is too many: label at most {MAX_LABEL} at a time")
    return ids


def _reviewer(reviewer: object) -> str:
    who = one_line(reviewer) if isinstance(reviewer, str) else ""
    if not who or len(who) > 254:
        raise BadLabel("a label needs the reviewer's name (up to 254 characters)")
    return who


def _rows(conn: Connection, ids: list[int]) -> list[Row[Any]]:
    """The messages, locked until the transaction ends (PostgreSQL), in the order asked; refuses
    unknown and labelled ones."""
    query = (
        select(messages.c.id, messages.c.text, messages.c.label, messages.c.labelled_by)
        .where(messages.c.id.in_(ids))
        .order_by(messages.c.id)
        .with_for_update()
    )
    found = {row.id: row for row in conn.execute(query)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise BadLabel(f"nothing was labelled: no message {_list(missing)} in the console (erased, or never indexed)")
    done = [found[i] for i in ids if found[i].label is not None]
    if done:
        first = done[0]
        raise BadLabel(
            f"nothing was labelled: message {_list([r.id for r in done])} is labelled already "
            f"({first.label}, by {first.labelled_by})"
        )
    return [found[i] for i in ids]


def _lines(
    rows: list[Row[Any]], intent: str, known: Known, blocks: dict[str, list[str]]
) -> tuple[list[Line], Counter[str]]:
    """The new lines for these messages (one per phrasing), and why the others add none."""
    present = {normal_form(plain(line)) for lines in blocks.values() for line in lines}
    lines: list[Line] = []
    skipped: Counter[str] = Counter()
    for row in rows:
        line = training_line(row.text, intent, known)
        if isinstance(line, str):
            skipped[line] += 1
        elif line.form in present:
            skipped["known"] += 1
        else:
            present.add(line.form)
            lines.append(line)
    return lines, skipped


def _events(rows: Sequence[Row[Any]]) -> list[tuple[int, str, dict[str, Any]]]:
    """The newest ``MAX_EVENTS`` events in order, from the first session start among them when the
    oldest session is cut (a story must start where the session did)."""
    events: list[tuple[int, str, dict[str, Any]]] = []
    for row in reversed(rows):
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            continue
        events.append((row.id, row.type_name, data if isinstance(data, dict) else {}))
    if len(rows) >= MAX_EVENTS:
        starts = [i for i, (_, kind, _) in enumerate(events) if kind == "session_started"]
        if starts:
            events = events[starts[0] :]
    return events


def _list(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:5]))
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
