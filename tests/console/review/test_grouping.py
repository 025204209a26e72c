"""The review inbox's groups (bot/console/data/review.py, grouping.py) over real SQLite and
PostgreSQL: similar messages together and different ones apart, exact duplicates always together,
keys that stay the same for the same members, largest and most recent groups first, a suggestion a
reviewer can choose, and a bounded number of messages looked at."""

from __future__ import annotations

import pytest

from bot.console.data import review as review_module
from bot.console.data.grouping import Weights, cluster
from tests.console.review.inbox import add_message, review


def texts(groups) -> list[set[str]]:
    return [{item.text for item in g.items} for g in groups]


def test_similar_messages_share_a_group_and_different_ones_do_not(db, reviewed):
    for minutes, text in enumerate(
        [
            "add 5 licenses",
            "add 7 licences please",
            "can you add 3 more licenses",
            "cancel my subscription",
            "show my subscription",
            "pay my invoice",
            "email my invoice",
            "whats the weather",
            "what's the weather like",
        ]
    ):
        add_message(db, text, minutes=minutes)

    groups = review(db, reviewed).groups()

    assert sorted(map(sorted, texts(groups))) == sorted(
        map(
            sorted,
            [
                {"add 5 licenses", "add 7 licences please", "can you add 3 more licenses"},
                {"whats the weather", "what's the weather like"},
                {"cancel my subscription"},
                {"show my subscription"},
                {"pay my invoice"},
                {"email my invoice"},
            ],
        )
    )
    # largest first; among equal sizes the most recent first; items newest first
    assert [len(g.items) for g in groups] == [3, 2, 1, 1, 1, 1]
    assert [g.items[0].text for g in groups[2:]] == [
        "email my invoice",
        "pay my invoice",
        "show my subscription",
        "cancel my subscription",
    ]
    assert [i.text for i in groups[0].items] == [
        "can you add 3 more licenses",
        "add 7 licences please",
        "add 5 licenses",
    ]


def test_exact_duplicates_always_share_a_group():
    # After lower-casing and without punctuation or spaces, whatever the threshold.
    lines = ["ADD 5 SEATS!!!", "add 5 seats", "add5seats", "Add 5 Seats?", "zzz", "add 6 seats"]
    clusters = cluster(
        list(enumerate(lines)),
        text=lambda i: i[1],
        ident=lambda i: i[0],
        recency=lambda i: (0.0, i[0]),
        weights=Weights([]),
        threshold=1.01,  # nothing is "similar": only exact duplicates group
    )
    assert [sorted(t for _, t in c.items) for c in clusters][0] == sorted(lines[:4])
    assert len(clusters) == 3


def test_keys_are_stable_for_the_same_members_and_change_with_them(db, reviewed):
    inbox = review(db, reviewed)
    a = [add_message(db, t, minutes=i) for i, t in enumerate(["send me last invoice", "send last invoice pls"])]
    add_message(db, "talk to a human", minutes=3)
    first = {frozenset(i.message_id for i in g.items): g.key for g in inbox.groups()}
    assert first == {frozenset(i.message_id for i in g.items): g.key for g in inbox.groups()}

    # an unrelated new message leaves the others' keys alone
    add_message(db, "what's the weather", minutes=4)
    second = {frozenset(i.message_id for i in g.items): g.key for g in inbox.groups()}
    assert {m: k for m, k in second.items() if m in first} == first

    # a new member is a new group, with a new key; labelled messages leave the inbox
    b = add_message(db, "send me the last invoice", minutes=5)
    third = {frozenset(i.message_id for i in g.items): g.key for g in inbox.groups()}
    assert frozenset([*a, b]) in third and third[frozenset([*a, b])] != first[frozenset(a)]
    inbox.label([*a, b], "get_invoice", "rita@vendor.example")
    assert all(not set([*a, b]) & m for m in {frozenset(i.message_id for i in g.items) for g in inbox.groups()})


def test_reason_filter_limit_and_suggestion(db, reviewed):
    add_message(db, "upgrade to enterprise", review="low_confidence", intent="upgrade_edition", confidence=0.5)
    add_message(db, "upgrade us to enterprise please", review="low_confidence", intent="upgrade_edition", minutes=1)
    add_message(db, "upgrade to enterprise now", review="fallback", intent="nlu_fallback", minutes=2)
    add_message(db, "where is my parcel", review="declined_suggestion", intent="get_invoice", minutes=3)
    add_message(db, "hello", review=None, intent="greet", minutes=4)  # not in the inbox

    inbox = review(db, reviewed)
    everything = inbox.groups()
    assert sorted(map(len, texts(everything))) == [1, 3]
    upgrade = everything[0]
    # nlu_fallback is no choice for a reviewer: the suggestion is what the others were given
    assert upgrade.suggestion == "upgrade_edition"
    assert {i.reason for i in upgrade.items} == {"low_confidence", "fallback"}
    assert texts(inbox.groups(reason="declined_suggestion")) == [{"where is my parcel"}]
    assert texts(inbox.groups(reason="not_helpful")) == []
    assert len(inbox.groups(limit=1)) == 1 and inbox.groups(limit=0) == []
    with pytest.raises(ValueError, match="unknown review reason"):
        inbox.groups(reason="bored")  # type: ignore[arg-type]

    only_fallback = [g for g in inbox.groups(reason="fallback")]
    assert only_fallback[0].suggestion is None  # faq, nlu_fallback... nothing choosable


def test_items_carry_what_the_page_shows(db, reviewed):
    mid = add_message(db, "my invoice is wrong", review="handoff_after_miss", intent="get_invoice", confidence=0.41)
    [group] = review(db, reviewed).groups()
    [item] = group.items
    assert (item.message_id, item.sender, item.text, item.intent, item.reason) == (
        mid,
        "wv-1",
        "my invoice is wrong",
        "get_invoice",
        "handoff_after_miss",
    )
    assert item.confidence == pytest.approx(0.41)
    assert item.at.utcoffset() is not None and item.at.isoformat().startswith("2026-11-02T09:00:00")


def test_at_most_the_most_recent_candidates_are_grouped(db, reviewed, monkeypatch):
    monkeypatch.setattr(review_module, "MAX_CANDIDATES", 5)
    ids = [add_message(db, f"question number {n} about apples", minutes=n) for n in range(8)]
    seen = {i.message_id for g in review(db, reviewed).groups() for i in g.items}
    assert seen == set(ids[3:])
