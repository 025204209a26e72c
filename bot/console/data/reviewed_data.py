"""The reviewed-data file (``nlu_data/reviewed.yml``): Rasa 3 NLU YAML that the console writes.

Its shape is fixed, so that the console can read it back and rewrite it whole: a header comment,
``version: "3.1"``, and ``nlu:`` with one ``- intent: X`` / ``examples: |`` block per intent, in the
order intents were first labelled, lines in the order they were added. A new line joins its
intent's block; no comment is ever written inside a block (Rasa would read it as an example, and
the project's data tests forbid it). Who labelled what, and when, is in the console's database
(``console_messages.labelled_by``, ``labelled_at``), not in the file. Someone may delete a line by
hand; anything else the console does not write (a synonym, a comment, another key) makes it refuse
to rewrite the file until a person fixes it, rather than drop it.

Writing is atomic and serialised:
- the new content goes to a temporary file beside the old one, is flushed to disk and renamed over
  it (``os.replace``): a reader (``make train``, git) sees the old file or the new one, never half;
- a lock file beside it (``.reviewed.yml.lock``, ``fcntl.flock``) is held from reading the file to
  renaming the new one, so that two reviewers, or two console replicas sharing the folder, never
  write over each other's lines. Waiting for it is bounded (``LOCK_WAIT_S``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from bot.console.data.files import staged, sync_folder
from bot.console.data.nlu_files import example_lines, load_yaml

LOCK_WAIT_S = 10.0
HEADER = """\
# Reviewed training data, written by the staff console's review inbox (bot/console/data/review.py):
# customer messages a reviewer labelled, in Rasa's NLU format, trained on with the rest of nlu_data/
# by `make train` (docs/console.md). The console rewrites this file: delete a wrong line by hand if
# need be, but add nothing else here (it keeps only intent blocks of example lines).
"""
_INTENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_/\-]*$")

Blocks = dict[str, list[str]]  # intent -> example lines (as written after "- "), in file order


class ReviewedFileError(Exception):
    """The file cannot be read back as the console writes it, or stayed locked too long."""


def render(blocks: Blocks) -> str:
    out = ['version: "3.1"\n\n', HEADER]
    if not any(blocks.values()):
        return "".join(out) + "nlu: []\n"
    out.append("nlu:\n")
    for intent, lines in blocks.items():
        if not lines:
            continue
        if not _INTENT_NAME.match(intent):
            raise ReviewedFileError(f"{intent!r} is not an intent name")
        out.append(f"  - intent: {intent}\n    examples: |\n")
        out += [f"      - {line}\n" for line in lines]
    return "".join(out)


def parse(content: str) -> Blocks:
    """The blocks of a file the console wrote; ``ReviewedFileError`` for anything else in it."""
    try:
        data = load_yaml(content) if content.strip() else {}
    except Exception as exc:
        raise ReviewedFileError(f"it is not valid YAML ({str(exc).splitlines()[0]})") from exc
    data = {} if data is None else data
    if not isinstance(data, dict) or set(data) - {"version", "nlu"}:
        raise ReviewedFileError('it holds more than "version" and "nlu"')
    blocks: Blocks = {}
    for item in data.get("nlu") or []:
        if not isinstance(item, dict) or set(item) != {"intent", "examples"} or not isinstance(item["intent"], str):
            raise ReviewedFileError(f"it holds an item that is not an intent's examples: {str(item)[:80]}")
        lines = str(item["examples"] or "").splitlines()
        found = example_lines(item["examples"])
        if len(found) != len([line for line in lines if line.strip()]):
            raise ReviewedFileError(f"a line of {item['intent']}'s examples does not start with '- '")
        blocks.setdefault(item["intent"], []).extend(found)
    return blocks


class ReviewedFile:
    def __init__(self, path: Path, *, lock_wait_s: float = LOCK_WAIT_S) -> None:
        self.path = path
        self.lock_path = path.with_name(f".{path.name}.lock")
        self.lock_wait_s = lock_wait_s

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock (``ReviewedFileError`` after ``lock_wait_s``)."""
        fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            deadline = time.monotonic() + self.lock_wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ReviewedFileError(
                            f"another reviewer has been saving it for {self.lock_wait_s:g} s: try again"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def read(self) -> str:
        """The file's content ("" when there is no file yet)."""
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def replace(self, content: str) -> None:
        """Write ``content`` in place of the file, atomically (module docstring)."""
        tmp = staged(self.path.parent, self.path.name, content)
        try:
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        sync_folder(self.path.parent)
