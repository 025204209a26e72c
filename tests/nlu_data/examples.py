"""Our NLU training examples as plain text, and the normal form two lines are compared in.

Examples are read from nlu_data/*.yml (Rasa 3 YAML) with their entity annotations reduced to the
annotated text: "add [5](quantity) seats" is "add 5 seats".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
NLU_DATA = ROOT / "nlu_data"
# [text](entity), [text](entity:value) and [text]{"entity": ...}
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
NOT_WORD = re.compile(r"[\W_]+")


class Example(NamedTuple):
    intent: str
    text: str
    file: str
    written: str = ""  # as in the file, annotations kept


def examples(folder: Path = NLU_DATA) -> Iterator[Example]:
    for path in sorted(folder.glob("*.yml")):
        for item in yaml.safe_load(path.read_text()).get("nlu") or []:
            if "intent" not in item:
                continue
            for line in str(item.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield Example(item["intent"], ANNOTATION.sub(r"\1", line[2:]).strip(), path.name, line[2:])


def normal_form(text: str) -> str:
    """Lower case, without punctuation or spaces: "Hi, there!" and "hi there" are one line."""
    return NOT_WORD.sub("", text.casefold())
