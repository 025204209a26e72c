"""What the project's NLU data already says, as the review inbox needs it (plain Python and YAML).

- the training examples of ``nlu_data/*.yml`` other than the reviewed-data file, in normal form, with
  their intent: a reviewed line equal to one of them is not written again (under another intent
  it would contradict the data);
- the held-out lines: the development set (``nlu_dev/``) and the fingerprints of the evaluation set
  (``tests/nlu_data/eval_fingerprints.txt``, SHA-256 of each line's normal form). Training on either
  makes its measure worthless, and the project's data tests fail when a training line equals one;
- the product names the data teaches the entity extractor (CRF): the ``product`` lookup table,
  every text annotated as a product, and the synonyms of those names; and the intents whose
  examples annotate them (for the others, a product name is plain text in the data too);
- the example texts, the reference corpus of the inbox's similarity weights (grouping.py).

Read with libyaml's loader (about 20 ms for every file) and kept until a file changes (its size
and modification time are checked on each use).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.console.data.grouping import normal_form

# [text](entity), [text](entity:value) and [text]{"entity": ...}: tests/nlu_data/examples.py reads
# annotations the same way.
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_PRODUCT = re.compile(r"\[([^\]]+)\](?:\(product(?::[^)]*)?\)|\{[^}]*\"entity\":\s*\"product\"[^}]*\})")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


Stamp = tuple[tuple[str, int, int], ...]


def stamps(paths: Iterable[Path]) -> Stamp:
    """Each file's path, size and modification time: what tells that one changed."""
    found = []
    for path in sorted(paths):
        stat = path.stat()
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # a safe loader: libyaml's, else PyYAML's


def plain(line: str) -> str:
    """An example line without its entity annotations: "add [5](quantity) seats" -> "add 5 seats"."""
    return ANNOTATION.sub(r"\1", line).strip()


def example_lines(block: Any) -> list[str]:
    """The lines of an ``examples: |`` block, without their "- "."""
    lines = []
    for line in str(block or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


@dataclass(frozen=True)
class Example:
    intent: str
    line: str  # as written, annotations included


def _items(path: Path) -> list[dict[str, Any]]:
    data = load_yaml(path.read_text(encoding="utf-8"))
    items = data.get("nlu") if isinstance(data, dict) else None
    return [item for item in items or [] if isinstance(item, dict)]


def _examples(paths: list[Path]) -> Iterator[Example]:
    for path in paths:
        for item in _items(path):
            if isinstance(item.get("intent"), str):
                for line in example_lines(item.get("examples")):
                    yield Example(item["intent"], line)


@dataclass
class Known:
    """A snapshot of what the data holds (see the module docstring)."""

    trained: dict[str, str] = field(default_factory=dict)  # normal form -> intent, outside the reviewed file
    held_out: set[str] = field(default_factory=set)  # normal forms of the development set
    fingerprints: set[str] = field(default_factory=set)  # the evaluation set's, SHA-256 of normal forms
    products: list[str] = field(default_factory=list)  # lower case, longest first
    product_intents: frozenset[str] = frozenset()
    corpus: list[str] = field(default_factory=list)  # example texts without annotations

    def held_back(self, text: str) -> bool:
        form = normal_form(text)
        return form in self.held_out or hashlib.sha256(form.encode()).hexdigest() in self.fingerprints


def _known(folder: Path, reviewed: Path, dev: Path | None, fingerprints: Path | None) -> Known:
    known = Known()
    files = [p for p in sorted(folder.glob("*.yml")) if p.resolve() != reviewed.resolve()]
    lookup: set[str] = set()
    synonyms: list[list[str]] = []
    annotated: Counter[str] = Counter()  # intent -> lines with a product annotated
    mentioned: Counter[str] = Counter()  # intent -> lines naming a product (annotated or not)
    examples: list[Example] = []
    for path in files:
        for item in _items(path):
            if item.get("lookup") == "product":
                lookup.update(t.casefold() for t in example_lines(item.get("examples")))
            elif "synonym" in item:
                synonyms.append([t.casefold() for t in example_lines(item.get("examples"))])
            elif isinstance(item.get("intent"), str):
                examples += [Example(item["intent"], line) for line in example_lines(item.get("examples"))]
    names = lookup | {m.group(1).casefold() for e in examples for m in _PRODUCT.finditer(e.line)}
    for variants in synonyms:
        if names & set(variants):
            names |= set(variants)
    known.products = sorted(names, key=lambda n: (-len(n), n))
    finder = product_finder(known.products)
    for e in examples:
        text = plain(e.line)
        known.trained.setdefault(normal_form(text), e.intent)
        known.corpus.append(text)
        if _PRODUCT.search(e.line):
            annotated[e.intent] += 1
            mentioned[e.intent] += 1
        elif finder is not None and finder.search(text):
            mentioned[e.intent] += 1
    # an intent annotates products if at least half its lines that name one do
    known.product_intents = frozenset(i for i, n in annotated.items() if 2 * n >= mentioned[i])
    if dev is not None and dev.is_dir():
        known.held_out = {normal_form(plain(e.line)) for e in _examples(sorted(dev.glob("*.yml")))}
    if fingerprints is not None and fingerprints.is_file():
        known.fingerprints = {line.strip() for line in fingerprints.read_text().splitlines() if line.strip()}
    return known


def product_finder(names: list[str]) -> re.Pattern[str] | None:
    """A product name as a whole word (not inside an email, a domain or a hyphenated word), the
    longest name first, case-insensitive; spaces in a name match any run of spaces."""
    if not names:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, n.split())) for n in names)
    return re.compile(rf"(?<![\w@.\-])(?:{alternatives})(?![\w@\-]|\.\w)", re.IGNORECASE)


class NluFiles:
    """``Known`` for a folder of NLU data, read again when one of its files changes."""

    def __init__(self, folder: Path, reviewed: Path, *, dev: Path | None, fingerprints: Path | None) -> None:
        self.folder, self.reviewed, self.dev, self.fingerprints = folder, reviewed, dev, fingerprints
        self._stamp: Stamp | None = None
        self._known = Known()

    def known(self) -> Known:
        paths = [*self.folder.glob("*.yml")]
        if self.dev is not None and self.dev.is_dir():
            paths += self.dev.glob("*.yml")
        if self.fingerprints is not None and self.fingerprints.is_file():
            paths.append(self.fingerprints)
        stamp = stamps(p for p in paths if p.resolve() != self.reviewed.resolve())
        if stamp != self._stamp:
            self._known = _known(self.folder, self.reviewed, self.dev, self.fingerprints)
            self._stamp = stamp
        return self._known
