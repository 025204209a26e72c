"""Invoice PDF and invoice email, checked the way a recipient would see them."""

from __future__ import annotations

import email
import email.policy
import io
import socket
import time
from datetime import date

import pytest
from pypdf import PdfReader

from bot.billing.adapters.orm import BillingProfile, Invoice, InvoiceLine, Org
from bot.billing.config import get_settings
from bot.billing.documents.mail import send_invoice_email
from bot.billing.documents.pdf import RenderedPdfs, invoice_context, render_invoice_pdf
from bot.billing.domain.errors import Unavailable


def make_invoice(status: str = "open", currency: str = "USD", description: str = "Sales Cloud Enterprise") -> Invoice:
    return Invoice(
        number="INV-1042",
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        status=status,
        currency=currency,
        subtotal=123456,
        tax=0,
        total=123456,
        lines=[
            InvoiceLine(
                description=description,
                quantity=5,
                unit_amount=16500,
                amount=82500,
                period_start=date(2026, 11, 1),
                period_end=date(2026, 11, 30),
            ),
            InvoiceLine(
                description="Data Storage 10 GB",
                quantity=1,
                unit_amount=40956,
                amount=40956,
                period_start=None,
                period_end=None,
            ),
        ],
    )


def make_org(name: str = "Acme Corp", contact: str = "Dana Whitfield", currency: str = "USD") -> Org:
    return Org(
        name=name,
        currency=currency,
        billing_profile=BillingProfile(
            contact_name=contact,
            contact_email="ap@acme.example",
            address_line1="1 Market St",
            address_line2="Suite 300",
            city="San Francisco",
            region="CA",
            postal_code="94105",
            country="US",
        ),
    )


# The day the documents are rendered on: the invoices below are due 2026-12-01, so open and not yet
# overdue, whatever day the tests run.
TODAY = date(2026, 11, 15)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(autouse=True)
def settings(monkeypatch, tmp_path):
    s = get_settings()
    monkeypatch.setattr(s, "smtp_url", "")
    monkeypatch.setattr(s, "outbox_dir", tmp_path / "outbox")
    monkeypatch.setattr(s, "smtp_timeout_s", 2.0)
    return s


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_shows_what_the_customer_needs():
    text = pdf_text(render_invoice_pdf(make_invoice(), make_org(), today=TODAY))
    for expected in [
        "INV-1042",
        "$1,234.56",
        "$825.00",
        "$165.00",
        "$409.56",
        "Acme Corp",
        "Dana Whitfield",
        "San Francisco, CA 94105",
        "Sales Cloud Enterprise",
        "Data Storage 10 GB",
        "2026-11-01",
        "2026-12-01",
        "2026-11-30",
        "OPEN",
        "Unit price",
        "1-800-667-6389",
    ]:
        assert expected in text, expected
    assert "OVERDUE" not in text


@pytest.mark.parametrize(
    "status, today, label",
    [
        ("open", date(2026, 12, 2), "OVERDUE"),
        ("paid", date(2027, 1, 1), "PAID"),
        ("void", date(2027, 1, 1), "VOID"),
    ],
)
def test_pdf_status(status, today, label):
    text = pdf_text(render_invoice_pdf(make_invoice(status), make_org(), today=today))
    assert label in text
    assert ("OVERDUE" in text) == (label == "OVERDUE")


def test_pdf_survives_non_latin1_text_and_shows_euros():
    invoice = make_invoice(currency="EUR", description="Sales Cloud — “Pro” für Łódź 東京 😀")
    org = make_org(name="Zoë Müller GmbH", contact="Zoë Ødegård", currency="EUR")
    text = pdf_text(render_invoice_pdf(invoice, org, today=TODAY))
    assert "€1,234.56" in text
    assert "Zoë Müller GmbH" in text and "Zoë Ødegård" in text
    assert "Sales Cloud — “Pro” für Lódz ??" in text  # ź has no glyph in the core font: z; CJK: ?


def test_pdf_without_billing_profile_and_many_lines():
    invoice = make_invoice()
    invoice.lines = [
        InvoiceLine(
            description=f"Add-on {i}", quantity=1, unit_amount=100, amount=100, period_start=None, period_end=None
        )
        for i in range(80)
    ]
    data = render_invoice_pdf(invoice, Org(name="Solo Ltd", currency="USD", billing_profile=None), today=TODAY)
    assert len(PdfReader(io.BytesIO(data)).pages) >= 2
    text = pdf_text(data)
    assert "Solo Ltd" in text and "Add-on 0" in text and "Add-on 79" in text


def test_a_changed_billing_address_is_on_the_next_pdf():
    invoice, org = make_invoice(), make_org()
    assert "San Francisco, CA 94105" in pdf_text(render_invoice_pdf(invoice, org, today=TODAY))
    org.billing_profile.address_line1, org.billing_profile.city = "9 Harbour Road", "Oakland"
    org.billing_profile.contact_name = "Lee Ortiz"
    text = pdf_text(render_invoice_pdf(invoice, org, today=TODAY))
    assert "9 Harbour Road" in text and "Oakland, CA 94105" in text and "Lee Ortiz" in text
    assert "San Francisco" not in text and "Dana Whitfield" not in text and "1 Market St" not in text


def test_a_paid_or_overdue_invoice_is_drawn_again_not_served_as_it_was():
    invoice, org = make_invoice(), make_org()
    assert "OPEN" in pdf_text(render_invoice_pdf(invoice, org, today=TODAY))
    assert "(open, 1 day past due)" in pdf_text(render_invoice_pdf(invoice, org, today=date(2026, 12, 2)))
    assert "(open, 2 days past due)" in pdf_text(render_invoice_pdf(invoice, org, today=date(2026, 12, 3)))
    invoice.status = "paid"
    text = pdf_text(render_invoice_pdf(invoice, org, today=date(2026, 12, 3)))
    assert "PAID" in text and "OVERDUE" not in text


def test_the_same_invoice_is_drawn_once():
    drawn = []

    def draw(context: dict) -> bytes:
        drawn.append(context["number"])
        return context["number"].encode()

    pdfs = RenderedPdfs(draw, size=2)
    first = invoice_context(make_invoice(), make_org(), today=TODAY)
    assert pdfs.get(first) == pdfs.get(dict(first)) == b"INV-1042" and drawn == ["INV-1042"]
    other = invoice_context(make_invoice(), make_org(name="Acme Holdings"), today=TODAY)  # another org's name
    pdfs.get(other)
    pdfs.get(first)
    assert len(drawn) == 2
    pdfs.get({**first, "number": "INV-1043"})  # a third: the least recently used (other) goes
    pdfs.get(first)
    pdfs.get(other)
    assert drawn == ["INV-1042", "INV-1042", "INV-1043", "INV-1042"]


# -- email ----------------------------------------------------------------------------------------


def share(**kwargs) -> None:
    kwargs.setdefault("to", ["ap@acme.example", "cfo@acme.example"])
    kwargs.setdefault("today", TODAY)
    send_invoice_email(make_invoice(), make_org(), sender_name="Dana Whitfield", **kwargs)


def test_email_reaches_the_recipients_with_note_and_pdf(settings, monkeypatch, smtp_server):
    monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{smtp_server.port}")
    share(note="Please pay before Friday <script>alert(1)</script>")
    [(mail_from, rcpts, msg)] = smtp_server.messages
    assert mail_from == "billing@vendor.example"
    assert sorted(rcpts) == ["ap@acme.example", "cfo@acme.example"]
    assert "INV-1042" in msg["Subject"] and "$1,234.56" in msg["Subject"] and "2026-12-01" in msg["Subject"]
    assert msg["From"] == settings.mail_from
    text = msg.get_body(("plain",)).get_content()
    assert "Please pay before Friday <script>alert(1)</script>" in text and "Dana Whitfield" in text
    html = msg.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "INV-1042.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert "INV-1042" in pdf_text(attachment.get_content())


def test_smtp_login_uses_the_url_credentials(settings, monkeypatch, smtp_server):
    monkeypatch.setattr(settings, "smtp_url", f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{smtp_server.port}")
    share()
    assert smtp_server.logins == [(b"mailer", b"p@ss:word")]
    assert len(smtp_server.messages) == 1


def test_a_refused_recipient_means_nobody_gets_it(settings, monkeypatch, smtp_server):
    monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{smtp_server.port}")
    smtp_server.refuse.add("cfo@acme.example")
    with pytest.raises(Unavailable) as exc:
        share()
    assert exc.value.code == "mail_unavailable"
    assert smtp_server.messages == []


def test_starttls_required_but_not_offered_is_not_downgraded(settings, monkeypatch, smtp_server):
    monkeypatch.setattr(settings, "smtp_url", f"smtp://u:p@127.0.0.1:{smtp_server.port}?starttls=1")
    with pytest.raises(Unavailable):
        share()
    assert smtp_server.messages == [] and smtp_server.logins == []


def test_server_down_fails_fast_with_a_clear_message(settings, monkeypatch):
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{closed.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(Unavailable) as exc:
            share()
    assert time.monotonic() - started < 5
    assert exc.value.code == "mail_unavailable" and exc.value.status == 503
    assert "nothing was sent" in exc.value.message


def test_silent_server_times_out(settings, monkeypatch):
    with socket.socket() as silent:  # accepts connections but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setattr(settings, "smtp_timeout_s", 0.5)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            share()
    assert time.monotonic() - started < 3


def test_without_smtp_url_the_mail_lands_in_the_outbox(settings):
    share(note="FYI")
    [eml] = list(settings.outbox_dir.glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert "INV-1042" in msg["Subject"] and msg["To"] == "ap@acme.example, cfo@acme.example"
    assert "FYI" in msg.get_body(("plain",)).get_content()
    assert [a.get_filename() for a in msg.iter_attachments()] == ["INV-1042.pdf"]


def test_unwritable_outbox_is_unavailable(settings, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setattr(settings, "outbox_dir", blocker / "outbox")
    with pytest.raises(Unavailable):
        share()
