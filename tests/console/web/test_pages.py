"""Every page on the real data layer: conversations written to Rasa's events table as Rasa writes
them, indexed by the console's background indexer, then read through the pages as staff would:
the overview's figures and charts, search and paging, a transcript (a pasted card number redacted),
labelling a review group into the reviewed-data file, saving a test, CSV downloads."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from sqlalchemy import select

from bot.console.staff_audit import staff_audit

CARD = "4242 4242 4242 4242"


@pytest.fixture
def conversations(console, tracker):
    """Three customers and a visitor: a completed order on the widget, a fallback twice over in
    Slack, a pasted card number, a formula-looking message; then the background indexer's work."""
    tracker.turn("wu-alex", "add 5 licenses", "add_licenses", "Here is your quote", email="alex@acme.example")
    tracker.turn(
        "wu-alex", "yes", "affirm", "Done: order ORD-1001 placed.", email="alex@acme.example", task="order_placed"
    )
    for text in ("can you fax me the thing", "fax the papers please"):
        tracker.turn(
            "slack:TACME:USAM", text, "nlu_fallback", "Sorry, I didn't get that.", confidence=0.31,
            channel="slack", email="sam@acme.example", fallback=True,
        )  # fmt: skip
    tracker.turn("wv-visitor1", f"my card is {CARD}", "update_card", "Use the secure link instead.")
    tracker.turn("wv-visitor2", '=HYPERLINK("http://x")', "nlu_fallback", "Sorry?", confidence=0.2, fallback=True)
    deadline = time.monotonic() + 20  # the background indexer (every 0.2 s here), never a request
    while console.console.queries.transcript("wv-visitor2") is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert console.console.queries.transcript("wv-visitor2") is not None, "the background indexer did not run"
    return tracker


def audit_rows(console, action: str) -> list:
    with console.console.engine.connect() as conn:
        return conn.execute(select(staff_audit).where(staff_audit.c.action == action)).all()


def test_the_overview_shows_the_periods_figures_charts_and_definitions(console, staff, conversations):
    page = staff("viewer").get("/console/", params={"days": "7"})
    assert page.status_code == 200
    assert '<dd id="fig-conversations">4</dd>' in page.text
    assert page.text.count('<svg class="chart"') == 6 and 'role="img"' in page.text
    assert "Containment" in page.text and "How each figure is counted" in page.text
    assert "<table>" in page.text  # each chart's numbers, for screen readers
    slack_only = staff("admin").get("/console/", params={"days": "7", "channel": "slack"})
    assert '<dd id="fig-conversations">1</dd>' in slack_only.text
    bad = staff("admin").get("/console/", params={"days": "forever"})
    assert bad.status_code == 422 and "days" in bad.text


def test_conversations_are_searched_paged_and_read(console, staff, conversations):
    browser = staff("viewer")
    everyone = browser.get("/console/conversations")
    assert everyone.status_code == 200 and "4 conversations" in everyone.text
    sam = browser.get("/console/conversations", params={"customer": "sam@", "channel": "slack"})
    assert "1 conversation," in sam.text and "sam@acme.example" in sam.text and "alex@acme.example" not in sam.text
    assert "0 conversations" in browser.get("/console/conversations", params={"customer": "nobody"}).text
    completed = browser.get("/console/conversations", params={"outcome": "completed"})
    assert "1 conversation," in completed.text and "alex@acme.example" in completed.text
    bad = browser.get("/console/conversations", params={"outcome": "won"})
    assert bad.status_code == 422 and "outcome" in bad.text

    transcript = browser.get("/console/conversations/wv-visitor1")
    assert transcript.status_code == 200 and "Use the secure link instead." in transcript.text
    assert CARD not in transcript.text and "4242" not in transcript.text.replace("4242 **** ", "")
    assert browser.get("/console/conversations/wv-nobody").status_code == 404


def test_paging_walks_every_conversation_once(console, staff, tracker):
    for n in range(55):
        tracker.turn(f"wv-page{n:02d}", "hello", "greet", "Hi!")
    console.index()
    browser = staff("viewer")
    first = browser.get("/console/conversations")
    assert "55 conversations, 1–50 shown" in first.text and 'rel="next"' in first.text
    second = browser.get("/console/conversations", params={"offset": "50"})
    assert "51–55 shown" in second.text and 'rel="next"' not in second.text and 'rel="prev"' in second.text
    seen = {line for page in (first, second) for line in page.text.split('href="/console/conversations/')[1:]}
    assert len(seen) == 55


def test_a_reviewer_labels_a_group_into_the_reviewed_file(console, staff, conversations):
    reviewer = staff("reviewer")
    inbox = reviewer.get("/console/review", params={"reason": "fallback"})
    assert inbox.status_code == 200 and "can you fax me the thing" in inbox.text
    lines = dict(re.findall(r'for="m-(\d+)"><q>([^<]*)</q>', inbox.text))
    ids = sorted(lines)
    fax = [i for i, text in lines.items() if "fax" in text]
    assert len(fax) == 2
    csrf = reviewer.csrf("/console/review")
    answer = reviewer.post(
        "/console/review/label", {"csrf": csrf, "intent": "out_of_scope", "message": fax, "reason": "fallback"}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/review?labelled=")
    written = console.settings.console_reviewed_file.read_text()
    assert "out_of_scope" in written and "can you fax me the thing" in written
    [row] = audit_rows(console, "label")
    assert (row.actor, row.object, row.count) == ("UREVIEW1", "out_of_scope", len(fax))
    assert "can you fax me the thing" not in reviewer.get("/console/review").text  # labelled: out of the inbox
    bad = reviewer.post("/console/review/label", {"csrf": csrf, "intent": "no_such_intent", "message": ids[:1]})
    assert bad.status_code == 422 and "Nothing was written" in bad.text
    assert console.settings.console_reviewed_file.read_text() == written


def test_a_reviewer_saves_a_conversation_as_a_test(console, staff, conversations):
    reviewer = staff("reviewer")
    csrf = reviewer.csrf("/console/conversations/wu-alex")
    bad = reviewer.post("/console/conversations/wu-alex/test", {"csrf": csrf, "name": "Bad Name!"})
    assert bad.status_code == 422 and not console.settings.console_tests_dir.exists()
    saved = reviewer.post("/console/conversations/wu-alex/test", {"csrf": csrf, "name": "alex-adds-licenses"})
    assert saved.status_code == 303
    [saved_file] = list(console.settings.console_tests_dir.glob("*.yml"))
    assert "add 5 licenses" in saved_file.read_text()  # the conversation's customer lines, as a test
    assert f"Saved as tests/conversations/{saved_file.name}" in reviewer.get(saved.headers["location"]).text
    [row] = audit_rows(console, "save_test")
    assert (row.actor, row.object) == ("UREVIEW1", "alex-adds-licenses")


def test_any_table_downloads_as_csv_and_is_audited(console, staff, conversations):
    browser = staff("viewer")
    listing = browser.get("/console/export")
    tables = _between(listing.text, 'href="/console/export/', ".csv")
    assert "conversations" in tables and "messages" in tables
    answer = browser.get("/console/export/conversations.csv", params={"days": "7"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {r["sender"] for r in rows} == {"wu-alex", "slack:TACME:USAM", "wv-visitor1", "wv-visitor2"}
    messages = list(csv.DictReader(io.StringIO(browser.get("/console/export/messages.csv").text)))
    texts = [r["text"] for r in messages]
    assert '\'=HYPERLINK("http://x")' in texts  # a spreadsheet will not run it
    assert not any(CARD in t for t in texts)
    assert browser.get("/console/export/secrets.csv").status_code == 404
    done = sorted((r.object, r.count) for r in audit_rows(console, "export_csv"))
    assert done == [("conversations", 4), ("messages", len(messages))]


def _between(text: str, start: str, end: str) -> list[str]:
    found = []
    for part in text.split(start)[1:]:
        found.append(part.split(end, 1)[0])
    return found
