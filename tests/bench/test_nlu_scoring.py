"""How the benchmark scores the external evaluation set (tests/bench/nlu.py), on made-up rows."""

from tests.bench import nlu


def row(text: str, intent: str, pred: str, source: str = "bitext", source_intent: str = "get_invoice") -> dict:
    return {"text": text, "intent": intent, "pred": pred, "source": source, "source_intent": source_intent}


def test_download_invoice_counts_only_where_a_bitext_get_invoice_line_asks_to_download():
    asks = row("I want to Download the bill for order 42", "get_invoice", "download_invoice")
    assert nlu._correct(asks)
    assert not nlu._correct(asks, strict=True)
    assert nlu._correct(row("Download the bill for order 42", "get_invoice", "get_invoice"), strict=True)
    # the same prediction on a line that does not say download, or from another source, is wrong
    assert not nlu._correct(row("show me the bill for order 42", "get_invoice", "download_invoice"))
    assert not nlu._correct(row("download the bill please", "get_invoice", "download_invoice", source="clinc150"))
    assert not nlu._correct(row("download the bill", "get_invoice", "download_invoice", source_intent="check_invoice"))
    # other wrong intents stay wrong
    assert not nlu._correct(row("download the bill for order 42", "get_invoice", "list_invoices"))


def test_list_invoices_counts_on_check_invoice_and_out_of_scope_only_when_lenient():
    assert nlu._correct(row("where are my bills", "get_invoice", "list_invoices", source_intent="check_invoice"))
    phone = row(
        "what do i owe on the phone bill",
        "check_balance",
        "out_of_scope",
        source="clinc150",
        source_intent="bill_balance",
    )
    assert not nlu._correct(phone)
    assert nlu._correct(phone, lenient=True)
    assert not nlu._correct({**phone, "source": "bitext"}, lenient=True)
