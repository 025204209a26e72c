"""Labels (bot/console/data/review.py ``label``) on real SQLite and PostgreSQL and a real copy of
nlu_data/: the rows marked, the reviewed-data file's content (read back as YAML and line by line as
Rasa reads an ``examples: |`` block), merging, no duplicates, what is never written, and every
refusal with nothing written."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.console.data.api import BadLabel
from bot.console.data.grouping import normal_form
from bot.nlu.cards import redact
from bot.nlu.out_of_scope_policy import asks_about_a_plan
from tests.console.review.inbox import ROOT, add_message, database, labels, review
from tests.nlu_data.examples import ANNOTATION, examples

ALEX = "rita@vendor.example"


def blocks(reviewed) -> dict[str, list[str]]:
    """intent -> example lines, as Rasa's YAML reader gets them (each line of the block after "- ")."""
    data = yaml.safe_load(reviewed.read_text())
    assert data["version"] == "3.1"
    out: dict[str, list[str]] = {}
    for item in data["nlu"]:
        assert set(item) == {"intent", "examples"}
        lines = item["examples"].splitlines()
        assert all(line.startswith("- ") for line in lines), lines
        out.setdefault(item["intent"], []).extend(line[2:].strip() for line in lines)
    return out


def test_a_label_marks_the_rows_and_writes_the_lines(db, reviewed):
    inbox = review(db, reviewed)
    a = add_message(db, "pls add 5 licences to Analytics")
    b = add_message(db, "we need 3 more dialer seats for the sales team")
    other = add_message(db, "can you book me a table for two")

    assert inbox.label([a, b], "add_licenses", ALEX) == 2

    marks = labels(db)
    assert marks[a] == marks[b] == ("add_licenses", ALEX) and marks[other] == (None, None)
    # product names the data knows are annotated for the CRF; numbers are left to the rules
    assert blocks(reviewed) == {
        "add_licenses": [
            "pls add 5 licences to [Analytics](product)",
            "we need 3 more [dialer](product) seats for the sales team",
        ]
    }
    assert reviewed.read_text().startswith('version: "3.1"\n\n# Reviewed training data, written by the staff console')

    # a second label merges into the intent's block; another intent gets its own, with product markup
    # where that intent's examples have it (support requests name the product they are about) and
    # without where they leave names plain (balance questions)
    c = add_message(db, "top up analytics by 4 seats")
    d = add_message(db, "Analytics dashboard shows an error 500")
    e = add_message(db, "what do we still owe for Analytics")
    assert inbox.label([c], "add_licenses", ALEX) == 1
    assert inbox.label([d], "contact_support", "sam@vendor.example") == 1
    assert inbox.label([e], "check_balance", "sam@vendor.example") == 1
    assert blocks(reviewed) == {
        "add_licenses": [
            "pls add 5 licences to [Analytics](product)",
            "we need 3 more [dialer](product) seats for the sales team",
            "top up [analytics](product) by 4 seats",
        ],
        "contact_support": ["[Analytics](product) dashboard shows an error 500"],
        "check_balance": ["what do we still owe for Analytics"],
    }
    assert labels(db)[d] == ("contact_support", "sam@vendor.example")
    assert inbox.label([other], "out_of_scope", ALEX) == 1
    assert blocks(reviewed)["out_of_scope"] == ["can you book me a table for two"]


def test_no_line_is_written_twice_or_over_the_training_data(db, reviewed):
    inbox = review(db, reviewed)
    twins = [add_message(db, t) for t in ("where do i see my renewal date", "Where do I see my renewal date?")]
    assert inbox.label(twins, "view_subscription", ALEX) == 1
    again = add_message(db, "where do I see my RENEWAL date")
    trained = add_message(db, "Add 5 licenses!")  # nlu_data/licenses.yml has "add [5](quantity) licenses"
    elsewhere = add_message(db, "open a case")  # support.yml, contact_support
    assert inbox.label([again], "view_subscription", ALEX) == 0
    assert inbox.label([trained], "add_licenses", ALEX) == 0
    assert inbox.label([elsewhere], "talk_to_human", ALEX) == 0  # would contradict the data
    assert blocks(reviewed) == {"view_subscription": ["where do i see my renewal date"]}
    assert {labels(db)[i][0] for i in (again, trained, elsewhere)} == {
        "view_subscription",
        "add_licenses",
        "talk_to_human",
    }


def test_card_numbers_and_redacted_texts_are_never_written(db, reviewed):
    inbox = review(db, reviewed)
    ids = [
        add_message(db, "my card is 4242 4242 4242 4242 exp 12/27"),  # slipped past every redactor
        add_message(db, "new card: CARDNUMBER"),
        add_message(db, "use •••• (card number removed) please"),
        add_message(db, "change the card on file to my amex"),
    ]
    assert inbox.label(ids, "update_payment_method", ALEX) == 1
    assert blocks(reviewed) == {"update_payment_method": ["change the card on file to my amex"]}
    assert "4242" not in reviewed.read_text() and "CARDNUMBER" not in reviewed.read_text()
    assert all(labels(db)[i][0] == "update_payment_method" for i in ids)


def test_texts_that_could_break_the_file_are_written_safely(db, reviewed):
    inbox = review(db, reviewed)
    nasty = [
        "send the invoice\nnlu:\n  - intent: hacked\n    examples: |\n      - boom",
        "invoice #1042: is it \"paid\"? 'yes' or no",
        '[5](quantity) of [those]{"entity": "product"} invoices',
        "invoice\x07 for\x1b[31m march\u2028please\u200b",  # PostgreSQL refuses NUL: no index holds one
        "- - - the invoice & the receipt, % * | > ! @ `",
        "\t  ",
    ]
    ids = [add_message(db, t) for t in nasty]
    assert inbox.label(ids, "get_invoice", ALEX) == 5
    assert blocks(reviewed) == {
        "get_invoice": [
            "send the invoice nlu: - intent: hacked examples: | - boom",
            "invoice #1042: is it \"paid\"? 'yes' or no",
            '(5)(quantity) of (those){"entity": "product"} invoices',
            "invoice for(31m march please",
            "- - - the invoice & the receipt, % * | > ! @ `",
        ]
    }
    assert "hacked" not in yaml.safe_load(reviewed.read_text())["nlu"][0]["intent"]
    assert not [c for c in reviewed.read_text() if not c.isprintable() and c != "\n"]


def test_the_project_data_rules_hold_for_the_reviewed_file(db, reviewed, tmp_path):
    """What make test checks over nlu_data/ (tests/nlu_data, and the Rasa environment's card and
    annotation checks) holds with labelled lines in the reviewed file: development and evaluation
    lines and out-of-scope plan requests are kept out, annotations are only products."""
    own = "could you explain how proration works on my bill"
    fingerprints = tmp_path / "eval_fingerprints.txt"
    fingerprints.write_text(hashlib.sha256(normal_form(own).encode()).hexdigest() + "\n")
    inbox = review(db, reviewed, eval_fingerprints=fingerprints)
    dev_line = "gimme 1 more seat"  # nlu_dev/account.yml
    lines = {
        "add_licenses": [dev_line, "add 2 inbox seats please", "one more enterprise seat for Jo"],
        "check_balance": [own, "how much do we owe this month"],
        "out_of_scope": ["cancel my gym membership", "how much is a flight to lisbon", "recommend a good sci-fi book"],
    }
    added = {}
    for intent, texts in lines.items():
        added[intent] = inbox.label([add_message(db, t) for t in texts], intent, ALEX)
    assert added == {"add_licenses": 2, "check_balance": 1, "out_of_scope": 2}

    found = [e for e in examples(reviewed.parent) if e.file == "reviewed.yml"]
    assert sorted((e.intent, e.text) for e in found) == sorted(
        [
            ("add_licenses", "add 2 inbox seats please"),
            ("add_licenses", "one more enterprise seat for Jo"),
            ("check_balance", "how much do we owe this month"),
            ("out_of_scope", "how much is a flight to lisbon"),
            ("out_of_scope", "recommend a good sci-fi book"),
        ]
    )
    dev = {normal_form(e.text) for e in examples(ROOT / "nlu_dev")}
    assert not [e for e in found if normal_form(e.text) in dev]
    assert not [e for e in found if e.intent == "out_of_scope" and asks_about_a_plan(e.text)]
    assert not [line for line in reviewed.read_text().splitlines() if redact(line)[1]]
    marks = {m.group(0) for m in ANNOTATION.finditer(reviewed.read_text())}
    assert marks == {"[inbox](product)", "[enterprise](product)"}
    assert len(list(examples(reviewed.parent))) == len(list(examples(ROOT / "nlu_data"))) + 5


REFUSALS = [
    (lambda ids: (ids, "make_coffee", ALEX), "not an intent of the assistant"),
    (lambda ids: (ids, "nlu_fallback", ALEX), "not an intent of the assistant"),
    (lambda ids: (ids, "faq", ALEX), "not an intent of the assistant"),
    (lambda ids: (ids, "give_card_number", ALEX), "not an intent of the assistant"),
    (lambda ids: ([], "get_invoice", ALEX), "choose at least one message"),
    (lambda ids: (["1"], "get_invoice", ALEX), "is not a message id"),
    (lambda ids: ([*ids, 987654], "get_invoice", ALEX), "no message 987654 in the console"),
    (lambda ids: (ids, "get_invoice", "  "), "reviewer's name"),
    (lambda ids: (list(range(1, 502)), "get_invoice", ALEX), "label at most 500"),
]


@pytest.mark.parametrize(("call", "message"), REFUSALS)
def test_refusals_say_why_and_change_nothing(db, reviewed, call, message):
    inbox = review(db, reviewed)
    ids = [add_message(db, "where is the invoice for march"), add_message(db, "invoice for march pls")]
    before, rows = reviewed.read_bytes(), labels(db)
    with pytest.raises(BadLabel, match=message):
        inbox.label(*call(ids))
    assert reviewed.read_bytes() == before and labels(db) == rows


def test_a_message_is_labelled_once(db, reviewed):
    inbox = review(db, reviewed)
    a, b = add_message(db, "what is the amount we still owe you"), add_message(db, "amount we owe pls")
    assert inbox.label([a], "check_balance", ALEX) == 1
    before, rows = reviewed.read_bytes(), labels(db)
    # the same form posted twice, or another reviewer on a group that holds it
    for ids in ([a], [b, a]):
        with pytest.raises(BadLabel, match=f"message {a} is labelled already \\(check_balance, by {ALEX}\\)"):
            inbox.label(ids, "get_invoice", "sam@vendor.example")
    assert reviewed.read_bytes() == before and labels(db) == rows


def test_a_file_edited_into_something_else_is_not_overwritten(db, reviewed):
    inbox = review(db, reviewed)
    edited = reviewed.read_text().replace("nlu: []", "nlu:\n  - synonym: acme\n    examples: |\n      - ACME\n")
    reviewed.write_text(edited)
    mid = add_message(db, "show my licences")
    with pytest.raises(BadLabel, match="reviewed.yml: it holds an item that is not an intent's examples"):
        inbox.label([mid], "view_subscription", ALEX)
    assert reviewed.read_text() == edited and labels(db)[mid] == (None, None)


def test_a_held_lock_is_waited_for_then_refused(db, reviewed):
    """Another process (a second console replica) holds the file's lock longer than the wait."""
    inbox = review(db, reviewed, lock_wait_s=0.3)
    mid = add_message(db, "list my invoices from 2025")
    lock = reviewed.with_name(".reviewed.yml.lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BadLabel, match="another reviewer has been saving"):
            inbox.label([mid], "list_invoices", ALEX)
        assert labels(db)[mid] == (None, None)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert inbox.label([mid], "list_invoices", ALEX) == 1


def test_the_file_is_replaced_whole_never_rewritten_in_place(db, reviewed):
    inbox = review(db, reviewed)
    inode = os.stat(reviewed).st_ino
    inbox.label([add_message(db, "show last year's invoices")], "list_invoices", ALEX)
    assert os.stat(reviewed).st_ino != inode
    assert [p.name for p in reviewed.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert oct(os.stat(reviewed).st_mode & 0o777) == "0o644"


@pytest.fixture
def postgres(tmp_path):
    yield from database("postgresql", tmp_path)


def test_a_commit_that_fails_puts_the_old_file_back(postgres, reviewed):
    """The file is renamed into place before the rows are committed; PostgreSQL refusing the commit
    (here a deferred constraint trigger, checked at COMMIT) leaves the file as it was."""
    with postgres.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse_label() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER UPDATE ON console_messages "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.labelled_by = 'broken@vendor.example') "
                "EXECUTE FUNCTION refuse_label()"
            )
        )
    inbox = review(postgres, reviewed)
    kept = add_message(postgres, "which invoices are still open")
    assert inbox.label([kept], "list_invoices", ALEX) == 1
    lost = add_message(postgres, "the invoices that are overdue")
    before, rows = reviewed.read_bytes(), labels(postgres)

    with pytest.raises(DBAPIError, match="refused at commit"):
        inbox.label([lost], "list_invoices", "broken@vendor.example")

    assert reviewed.read_bytes() == before and labels(postgres) == rows
    assert inbox.label([lost], "list_invoices", ALEX) == 1
    assert blocks(reviewed) == {"list_invoices": ["which invoices are still open", "the invoices that are overdue"]}
