"""A representative 30 of the dialogue scripts (tests/dialogues/*.yml), one test each, through the
driver's own code on the session's stack: every topic and every role (billing admin on Enterprise
and on Essentials, a user without Manage Billing, an anonymous visitor). The whole set is the
`dialogue` benchmark (`python -m tests.bench dialogue`), failures and all; the 30 here are ones the
assistant passes, so that make test guards them (a script that fails goes into the benchmark's
report, not here: perm-tom-download-who-grants, "ok who has it?" after a refusal, is one)."""

from __future__ import annotations

import pytest

from tests.dialogues.driver import opening_hours, play
from tests.dialogues.scripts import load

REPRESENTATIVE = [
    "lic-golden-add-5",
    "lic-too-many-7-digits",
    "lic-essentials-add-2",
    "lic-remove-explained",
    "prod-field-service-all-at-once",
    "prod-data-storage-did-you-mean",
    "upg-golden-essentials-enterprise",
    "upg-enterprise-to-unlimited",
    "inv-golden-last-then-email",
    "inv-share-bad-email-then-fix",
    "pay-golden-by-number",
    "pay-owe-then-ok-pay-it",
    "pay-essentials-open",
    "bd-contact-all-at-once",
    "bd-address-step-by-step",
    "sup-case-problem-in-request",
    "sup-visitor-case",
    "sales-golden-visitor-pricing-then-person",
    "sales-lead-all-at-once",
    "cb-alex-first-slot",
    "cb-essentials-dublin-open-slot",
    "faq-nonprofit",
    "price-enterprise-40",
    "perm-golden-sam-pay",
    "perm-sam-read-worded-as-read",
    "perm-tom-pay",
    "oos-golden-weather",
    "card-golden-paste",
    "corr-make-it-4",
    "int-price-during-quote",
]
SCRIPTS = {s.id: s for s in load()}


def test_the_selection_covers_every_topic_and_role():
    chosen = [SCRIPTS[i] for i in REPRESENTATIVE]
    assert len(set(REPRESENTATIVE)) == 30
    assert {s.topic for s in chosen} == {s.topic for s in SCRIPTS.values()}
    assert {s.role for s in chosen} == {s.role for s in SCRIPTS.values()}


@pytest.fixture(scope="session")
def queues():
    return opening_hours()


@pytest.mark.parametrize("script_id", REPRESENTATIVE)
def test_dialogue(script_id, stack, billing_db, queues):
    result = play(stack, billing_db, SCRIPTS[script_id], queues)
    assert result.passed, result.explain()
