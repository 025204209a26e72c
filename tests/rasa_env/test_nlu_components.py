"""The custom NLU: card-number redaction, numbers, periods, invoice numbers, emails, and the Rasa
components around them, on real `Message` objects. Also checks that every annotation of a
rule-owned entity in nlu_data/ is exactly what the extractor finds (so the data and the rules agree).
"""

from __future__ import annotations

import datetime as dt
import glob
import json
from pathlib import Path

import pytest

from bot.nlu.cards import luhn_valid, redact
from bot.nlu.extraction import extract_entities
from bot.nlu.numbers import find_quantities, parse_number
from bot.nlu.periods import find_periods

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2025, 6, 15)

# ---------------------------------------------------------------- card numbers (pure function)

CARDS = [
    "4242 4242 4242 4242",
    "4242424242424242",
    "4242-4242-4242-4242",
    "5555555555554444",
    "378282246310005",
    "3782 822463 10005",
    "6011111111111117",
    "4000056655665556",
    "4222222222222",
]  # 13 digits


@pytest.mark.parametrize("card", CARDS)
def test_card_numbers_are_redacted(card):
    text, count = redact(f"my card is {card} thanks")
    assert (text, count) == ("my card is CARDNUMBER thanks", 1)


@pytest.mark.parametrize(
    "text",
    [
        "378282246310004",  # Luhn-invalid, 13-15 digits
        "4222 2222 22223",
        "123456789012",  # 12 digits
        "INV-1042",
        "pay INV-1041 and INV-1042",
        "call 1-800-667-6389",
        "+1 415 555 0134",
        "add 5 licenses",
        "1,200 users",
        "invoices from 2025",
        "exp 12/27 cvv 123",
        "call 0044 20 7946 0958",  # 14 digits, no 13-19 of them in a row pass the Luhn check
        "orders 1041 1042 1043",  # 12 digits
        "invoices from 2025-03-01 to 2025-06-30",
        "invoices 2025-01-01 - 2025-12-31",  # dates only: never a card
        "between 01/01/2025, 31/12/2025",
        "orders 1041, 1042, 1043",
        "call 1_800_667_6389",
        "",
    ],
)
def test_non_cards_are_kept(text):
    assert redact(text) == (text, 0)


@pytest.mark.parametrize(
    "text, expected",
    [
        # Separators a paste or a keyboard brings: several spaces, dots, slashes, a tab, a no-break
        # space, invisible characters between the groups.
        ("card 4242  4242  4242  4242 ok", "card CARDNUMBER ok"),
        ("card 4242.4242.4242.4242 ok", "card CARDNUMBER ok"),
        ("card 4242/4242/4242/4242 ok", "card CARDNUMBER ok"),
        ("card 4242\t4242\u00a04242 4242 ok", "card CARDNUMBER ok"),
        ("card 4242\u200b4242\u200b4242\u200b4242 ok", "card CARDNUMBER ok"),
        ("card 4242\u202e 4242\u2066 4242\u00ad4242 ok", "card CARDNUMBER ok"),
        # Any character that is neither a letter nor a digit (issue 17: _ and , got through).
        ("card 4242_4242_4242_4242 ok", "card CARDNUMBER ok"),
        ("card 4242,4242,4242,4242 ok", "card CARDNUMBER ok"),
        ("card 4242 , 4242 ; 4242 | 4242 ok", "card CARDNUMBER ok"),
        ("card 4242\U0001f642\U0001f6424242*4242+4242 ok", "card CARDNUMBER ok"),
        ("card 4\u03322\u03324\u03322\u0332 4242 4242 4242 ok", "card CARDNUMBER ok"),
        # Other scripts' digits.
        (
            "card \uff14\uff12\uff14\uff12 \uff14\uff12\uff14\uff12 "
            "\uff14\uff12\uff14\uff12 \uff14\uff12\uff14\uff12 ok",
            "card CARDNUMBER ok",
        ),
        (
            "card \u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662 ok",
            "card CARDNUMBER ok",
        ),
        # A card with digits glued to it (a typo, or the fuzz test's texts): the whole run goes.
        ("card 54242 4242 4242 4242 ok", "card CARDNUMBER ok"),
        ("card 4242 4242 4242 42425 ok", "card CARDNUMBER ok"),
        ("card \u0e544242 4242 4242 4242 ok", "card CARDNUMBER ok"),  # a Thai digit before it
        ("42424242424242424242", "CARDNUMBER"),  # 20 digits holding a card
        ("card 3782822463100054 ok", "card CARDNUMBER ok"),  # Amex with a digit more
        ("card 4242 4242 4242 4241 ok", "card CARDNUMBER ok"),  # 16 digits, 15 of which pass
        ("x " + "5 " * 65 + "y", "x CARDNUMBER y"),  # more than 64 digits in one run
    ],
)
def test_hidden_and_glued_card_numbers_are_redacted(text, expected):
    assert redact(text)[0] == expected


def test_a_card_glued_inside_a_run_keeps_the_whole_cards_around_it():
    assert redact("4242 4242 4242 4242 54242 4242 4242 4242 12 27") == ("CARDNUMBER CARDNUMBER", 2)
    assert redact("5555555555554444 x 4242 4242 4242 42425") == ("CARDNUMBER x CARDNUMBER", 2)


def test_card_among_other_numbers():
    assert redact("4242 4242 4242 4242 12 27")[0] == "CARDNUMBER 12 27"
    assert redact("cards 5555555555554444 and 4111111111111111") == ("cards CARDNUMBER and CARDNUMBER", 2)
    assert redact("INV-1042 paid with 4242-4242-4242-4242, exp 01/29") == (
        "INV-1042 paid with CARDNUMBER, exp 01/29",
        1,
    )


def test_luhn():
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")
    assert not luhn_valid("42x2")


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "words,value",
    [
        ("5", 5),
        ("five", 5),
        ("a dozen", 12),
        ("dozen", 12),
        ("half a dozen", 6),
        ("twenty-five", 25),
        ("twenty five", 25),
        ("a hundred and ten", 110),
        ("one hundred", 100),
        ("two hundred fifty", 250),
        ("1,200", 1200),
        ("10k", 10000),
        ("three thousand", 3000),
        ("eleven", 11),
        ("ninety-nine", 99),
        ("a couple", 2),
        ("zero", 0),
        ("banana", None),
        ("five six", None),
        ("", None),
    ],
)
def test_parse_number(words, value):
    assert parse_number(words) == value


@pytest.mark.parametrize(
    "text,expected",
    [
        ("add 5 licenses", [5]),
        ("five", [5]),
        ("add a dozen users", [12]),
        ("twenty-five seats please", [25]),
        ("5 more seats", [5]),
        ("we need three more Sales seats", [3]),
        ("a hundred and ten licenses", [110]),
        ("1,200 users", [1200]),
        ("make it 7", [7]),
        ("7", [7]),
        ("I need one more license", [1]),
        ("add one", [1]),
        ("add 2000 licenses", [2000]),
        ("add half a dozen inbox users", [6]),
        ("increase from 40 to 45", [40, 45]),
        ("add 10K seats", [10000]),
        # big numbers are counts by their context, not dropped for their length (issue 18)
        ("add 5000000 licenses", [5000000]),
        ("add 5,000,000 licenses", [5000000]),
        ("add 5 000 licenses", [5000]),
        ("add two million licenses", [2000000]),
        ("how much for 3 million users", [3000000]),  # digits and a scale word: one count
        ("add 2 thousand seats", [2000]),
        ("make it 20000", [20000]),
        ("order 5000000 licenses", [5000000]),
        ("5,000,000", [5000000]),
        ("my phone is 5551234567 and I want 5 licenses", [5]),
    ],
)
def test_quantities_found(text, expected):
    assert [s.value for s in find_quantities(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "INV-1042",
        "invoice 1042 please",
        "email ap1042@acme.example",
        "invoices from 2025",
        "in 2024",
        "the enterprise one",
        "no one answers",
        "one of my invoices",
        "call 1-800-667-6389",
        "phone me at 555 0100",
        "call me at +1 415 555 0134",
        "call me at 3pm",
        "at 10:30",
        "exp 12/27",
        "on 2025-03-01",
        "due March 5",
        "the 3rd invoice",
        "it costs $500",
        "about 20%",
        "100 euros",
        "status of case 00123",
        "ticket #4521",
        "cvv 123",
        "we get a 500 error",
        "12 Harbour Road",
        "about 3.5 users",
        "call me on 4155550101",
        "4155550101",
        "order number 5000123",
        "ticket 20014",
        "reach me at 5551234567",
    ],
)
def test_quantities_not_found(text):
    spans = [s for s in extract_entities(text, TODAY) if s["entity"] == "quantity"]
    assert spans == [], text


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    "text,value",
    [
        ("send me last invoice", "latest"),
        ("the latest one", "latest"),
        ("most recent bill", "latest"),
        ("the newest invoice", "latest"),
        ("the March invoice", "2025-03"),
        ("the June invoice", "2025-06"),  # the current month counts
        ("the September invoice", "2024-09"),  # not in the future
        ("the December invoice", "2024-12"),
        ("invoices from 2025", "2025"),
        ("2024 invoices", "2024"),
        ("March 2024 invoice", "2024-03"),
        ("jan 2024", "2024-01"),
        ("invoice for 2025-03", "2025-03"),
        ("last month's invoice", "last_month"),
        ("this month", "this_month"),
        ("last year invoices", "last_year"),
        ("this year's invoices", "this_year"),
        ("invoices ytd", "this_year"),
        ("the May invoice", "2025-05"),
        ("in jan", "2025-01"),
    ],
)
def test_periods(text, value):
    assert [s.value for s in find_periods(text, TODAY)] == [value]


@pytest.mark.parametrize(
    "text",
    [
        "you may",
        "may I see it",
        "add 2025 licenses",
        "at last",
        "my last 3 invoices",
        "INV-1042",
        "add 5 licenses",
    ],
)
def test_no_period(text):
    assert find_periods(text, TODAY) == []


def test_period_resolves_against_the_given_date():
    assert find_periods("the March invoice", dt.date(2026, 2, 1))[0].value == "2025-03"
    assert find_periods("the March invoice", dt.date(2026, 3, 1))[0].value == "2026-03"


# ---------------------------------------------------------------- invoice numbers, emails


@pytest.mark.parametrize(
    "text,value,span",
    [
        ("what was on INV-1042?", ["INV-1042"], ["INV-1042"]),
        ("inv-1042", ["INV-1042"], ["inv-1042"]),
        ("INV 1042 pls", ["INV-1042"], ["INV 1042"]),
        ("pay inv1041", ["INV-1041"], ["inv1041"]),
        ("invoice 1042", ["INV-1042"], ["1042"]),
        ("invoice #1041", ["INV-1041"], ["#1041"]),
        ("invoice number 1039", ["INV-1039"], ["1039"]),
        ("pay invoice 1041 and 1042", ["INV-1041", "INV-1042"], ["1041", "1042"]),
    ],
)
def test_invoice_numbers(text, value, span):
    found = [e for e in extract_entities(text, TODAY) if e["entity"] == "invoice_number"]
    assert [e["value"] for e in found] == value
    assert [text[e["start"] : e["end"]] for e in found] == span


def test_emails_are_lower_cased():
    found = extract_entities("email INV-1042 to AP@Acme.Example, cc bob.smith+x@acme.example", TODAY)
    assert [(e["entity"], e["value"]) for e in found] == [
        ("invoice_number", "INV-1042"),
        ("email", "ap@acme.example"),
        ("email", "bob.smith+x@acme.example"),
    ]


def test_several_entities_in_one_message():
    text = "add 5 Inbox licenses and email the March invoice to ap@acme.example"
    found = [(e["entity"], e["value"]) for e in extract_entities(text, TODAY)]
    assert found == [("quantity", 5), ("period", "2025-03"), ("email", "ap@acme.example")]


# ---------------------------------------------------------------- Rasa components


def _message(text: str, **data):
    from rasa.shared.nlu.training_data.message import Message

    return Message(data={"text": text, **data})


def _tokenize(messages):
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)


def test_redactor_removes_the_card_from_text_and_every_attribute():
    from bot.nlu.card_redaction import REDACTED_FLAG, CardNumberRedactor

    card = "4242 4242 4242 4242"
    msg = _message(f"my card is {card} exp 12/27", metadata={"raw": f"my card is {card}", "parts": [card]})
    original_metadata = msg.get("metadata")
    CardNumberRedactor().process([msg])
    assert msg.get("text") == "my card is CARDNUMBER exp 12/27"
    assert msg.get(REDACTED_FLAG) is True
    dump = json.dumps(msg.as_dict(), default=str) + json.dumps(msg.data, default=str)
    assert card not in dump and "4242424242424242" not in dump
    assert "4242" not in dump
    assert original_metadata["raw"] == f"my card is {card}"  # the caller's dict is not mutated
    _tokenize([msg])
    assert "4242" not in " ".join(t.text for t in msg.get("text_tokens"))


def test_redactor_keeps_luhn_invalid_numbers_and_invoice_numbers():
    from bot.nlu.card_redaction import REDACTED_FLAG, CardNumberRedactor

    texts = ["my card is 3782 822463 10004", "pay INV-1042 now", "invoice 1041 please", "call 1-800-667-6389"]
    messages = [_message(t) for t in texts]
    CardNumberRedactor().process(messages)
    assert [m.get("text") for m in messages] == texts
    assert not any(m.get(REDACTED_FLAG) for m in messages)


def test_redactor_on_training_data_moves_entity_offsets():
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.card_redaction import CardNumberRedactor

    text = "pay 4242424242424242 for INV-1042"
    msg = _message(
        text,
        intent="give_card_number",
        entities=[{"entity": "invoice_number", "start": 25, "end": 33, "value": "INV-1042"}],
    )
    CardNumberRedactor().process_training_data(TrainingData([msg]))
    entity = msg.get("entities")[0]
    assert msg.get("text") == "pay CARDNUMBER for INV-1042"
    assert msg.get("text")[entity["start"] : entity["end"]] == "INV-1042"


def test_card_intent_overrides_the_classifier():
    from bot.nlu.card_redaction import CardNumberIntent, CardNumberRedactor

    msg = _message(
        "pay INV-1041 with 5555 5555 5555 4444",
        intent={"name": "pay_invoice", "confidence": 0.9},
        intent_ranking=[{"name": "pay_invoice", "confidence": 0.9}],
    )
    other = _message("pay INV-1041", intent={"name": "pay_invoice", "confidence": 0.9})
    CardNumberRedactor().process([msg, other])
    CardNumberIntent(CardNumberIntent.get_default_config()).process([msg, other])
    assert msg.get("intent") == {"name": "give_card_number", "confidence": 1.0}
    assert msg.get("intent_ranking")[0]["name"] == "give_card_number"
    assert other.get("intent")["name"] == "pay_invoice"


def test_entity_extractor_component():
    from bot.nlu.entities import AccountEntityExtractor

    extractor = AccountEntityExtractor({"today": "2025-06-15"})
    msg = _message("add twenty-five seats and share the March invoice with AP@acme.example")
    _tokenize([msg])
    extractor.process([msg])
    entities = msg.get("entities")
    assert [(e["entity"], e["value"]) for e in entities] == [
        ("quantity", 25),
        ("period", "2025-03"),
        ("email", "ap@acme.example"),
    ]
    for e in entities:
        assert e["extractor"] == "AccountEntityExtractor"
        assert msg.get("text")[e["start"] : e["end"]] in ("twenty-five", "March", "AP@acme.example")


def test_entity_extractor_strips_its_types_from_training_data():
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.entities import AccountEntityExtractor

    msg = _message(
        "add 5 Inbox licenses",
        intent="add_licenses",
        entities=[
            {"entity": "quantity", "start": 4, "end": 5, "value": "5"},
            {"entity": "product", "start": 6, "end": 11, "value": "Inbox"},
        ],
    )
    AccountEntityExtractor({}).process_training_data(TrainingData([msg]))
    assert [e["entity"] for e in msg.get("entities")] == ["product"]


# ---------------------------------------------------------------- training data agrees with the rules


def test_training_annotations_match_the_extractor():
    """Where the training data annotates a rule-extracted entity, the rules find exactly that.
    (Annotating them is optional: the extractor removes them before the CRF trains.)"""
    from rasa.shared.nlu.training_data.loading import load_data

    owned = {"quantity", "invoice_number", "email", "period"}
    mismatches = []
    checked = 0
    for path in sorted(glob.glob(str(ROOT / "nlu_data" / "*.yml"))):
        for ex in load_data(path).training_examples:
            text = ex.get("text")
            if not text:
                continue
            gold = sorted((e["start"], e["end"], e["entity"]) for e in ex.get("entities") or [] if e["entity"] in owned)
            if not gold:
                continue
            checked += 1
            got = sorted((e["start"], e["end"], e["entity"]) for e in extract_entities(text, TODAY))
            if gold != got:
                mismatches.append((path.rsplit("/", 1)[-1], text, gold, got))
    assert checked > 20 and mismatches == []


def test_no_card_numbers_in_training_data():
    for path in glob.glob(str(ROOT / "nlu_data" / "*.yml")):
        for line in Path(path).read_text().splitlines():
            assert redact(line)[1] == 0, line


@pytest.mark.parametrize(
    "text",
    [
        "are you open 24 hours",
        "net 30 days?",
        "call me at 9 am",
        "is there a 10% discount",
        "the quote is valid for thirty minutes",
    ],
)
def test_times_and_rates_are_not_quantities(text):
    assert find_quantities(text) == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("order 5 more user licenses", [5]),
        ("order 12 seats", [12]),
        ("status of case 2001?", []),
        ("order #5 looks wrong", []),
        ("where is order number 3", []),
    ],
)
def test_order_as_a_verb_is_not_an_order_number(text, expected):
    assert [s.value for s in find_quantities(text)] == expected
