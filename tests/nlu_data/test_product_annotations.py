"""Every product a request names is annotated, so the CRF learns to tag it.

CRFEntityExtractor learns ``product`` from the annotations alone: an example that names
"professional" without annotating it teaches the CRF that the word is no product, and one such
batch of examples was enough to make it miss "professional" in "what does professional cost for 40
seats" (the price list came back instead of the price). FAQ questions (faq/essentials_features is
about the edition, not a product asked for) and out-of-scope examples are not requests for a
product; "inbox" and "analytics" are also everyday words (a mailbox, a company's name).
"""

from __future__ import annotations

import re
from pathlib import Path

from .examples import ANNOTATION, NLU_DATA, examples

PRODUCT = re.compile(
    r"\b(essentials|professional|enterprise|unlimited|dialer|data storage|file storage|field service|full sandbox)\b",
    re.IGNORECASE,
)
# Named on purpose without the annotation: the product set aside ("rather than enterprise"), or a
# feature inside the product asked about.
NOT_ASKED_FOR = {
    "[dialer](product) rather than enterprise",
    "on [Inbox](product), not Enterprise",
    "how much data storage is included in [Professional](product)",
    "does [Unlimited](product) include a full sandbox",
}


def unannotated(folder: Path = NLU_DATA) -> list[str]:
    return [
        f"{e.file} {e.intent}: {e.written}"
        for e in examples(folder)
        if e.intent != "out_of_scope"
        and not e.intent.startswith("faq/")
        and e.written not in NOT_ASKED_FOR
        and PRODUCT.search(ANNOTATION.sub("", e.written))
    ]


def test_every_product_a_request_names_is_annotated() -> None:
    assert unannotated() == []


def test_the_check_sees_an_unannotated_product(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: ask_pricing\n    examples: |\n'
        "      - what does professional cost\n      - what does [professional](product) cost\n"
    )
    assert unannotated(tmp_path) == ["x.yml ask_pricing: what does professional cost"]
