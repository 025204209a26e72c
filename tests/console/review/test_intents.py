"""What a reviewer may choose (bot/console/data/domain_intents.py), from the project's domain and
from a domain changed on disk."""

from __future__ import annotations

import shutil

from bot.console.data.domain_intents import DomainIntents
from tests.console.review.inbox import ROOT


def test_the_domain_intents_a_reviewer_can_teach(tmp_path):
    intents = DomainIntents(ROOT / "bot" / "domain").intents()
    assert intents == sorted(intents)
    assert {"add_licenses", "get_invoice", "talk_to_human", "inform", "out_of_scope"} <= set(intents)
    # the FAQ's questions, not the bare retrieval intent
    assert {"faq/where_is_account", "faq/who_grants_permission", "faq/hours"} <= set(intents)
    # set by Rasa or by the card-number component, never taught by examples
    assert not {"faq", "nlu_fallback", "give_card_number", "session_start", "restart", "back"} & set(intents)


def test_a_changed_domain_is_read_again(tmp_path):
    domain = tmp_path / "domain"
    shutil.copytree(ROOT / "bot" / "domain", domain)
    reader = DomainIntents(domain)
    assert "renew_contract" not in reader.intents()
    (domain / "extra.yml").write_text('version: "3.1"\nintents:\n  - renew_contract\n  - nlu_fallback\n')
    assert "renew_contract" in reader.intents() and "nlu_fallback" not in reader.intents()
