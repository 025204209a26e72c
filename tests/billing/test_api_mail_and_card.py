"""Sharing an invoice through a real SMTP server, and the card page, over HTTP."""

import html
import io
import re

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bot.billing.adapters.orm import AuditEntry, PaymentMethod
from bot.billing.config import get_settings
from tests.billing.helpers import count
from tests.conftest import SERVICE_TOKEN

ALEX = {
    "Authorization": f"Bearer {SERVICE_TOKEN}",
    "X-Acting-User": "alex@acme.example",
    "X-Channel": "slack",
    "X-Slack-Team": "T0001",
}


@pytest.fixture
def mail_to(smtp_server, monkeypatch):
    monkeypatch.setattr(get_settings(), "smtp_url", f"smtp://127.0.0.1:{smtp_server.port}")
    monkeypatch.setattr(get_settings(), "smtp_timeout_s", 3.0)
    return smtp_server


def test_share_an_invoice_by_email(billing_server, db, mail_to):
    r = httpx.post(
        f"{billing_server.url}/v1/invoices/INV-1042/share",
        headers=ALEX,
        json={"to": ["AP@acme.example"], "note": "For the December run"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"invoice": "INV-1042", "sent_to": ["ap@acme.example"]}
    [(_, rcpts, msg)] = mail_to.messages
    assert rcpts == ["ap@acme.example"] and "INV-1042" in msg["Subject"]
    assert "For the December run" in msg.get_body(("plain",)).get_content()
    [pdf] = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "INV-1042.pdf"
    assert "INV-1042" in PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text()
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "invoice.share")).one()
        assert (entry.actor, entry.channel, entry.after) == ("alex@acme.example", "slack", {"to": ["ap@acme.example"]})


def test_share_fails_cleanly_when_mail_is_down(billing_server, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "smtp_url", "smtp://127.0.0.1:1")
    r = httpx.post(
        f"{billing_server.url}/v1/invoices/INV-1042/share", headers=ALEX, json={"to": ["ap@acme.example"]}, timeout=10
    )
    assert r.status_code == 503 and r.json()["error"]["code"] == "mail_unavailable"
    assert count(db, AuditEntry, AuditEntry.action == "invoice.share") == 0


def test_share_refuses_bad_addresses(billing_server, db, mail_to):
    r = httpx.post(
        f"{billing_server.url}/v1/invoices/INV-1042/share",
        headers=ALEX,
        json={"to": ["ap@acme.example", "not an email"]},
        timeout=10,
    )
    assert r.status_code == 422 and "to" in r.json()["error"]["details"]["fields"]
    assert mail_to.messages == []


def test_the_card_page_saves_a_token_and_never_the_number(billing_server, db, caplog, clock):
    link = httpx.post(f"{billing_server.url}/v1/payment-method/link", headers=ALEX).json()
    page = httpx.get(link["url"])
    assert page.status_code == 200 and "Acme Corp" in page.text and "ending 4242" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    number = "5555 5555 5555 4444"
    bad = httpx.post(link["url"], data={"card_number": "4242 4242 4242 4241", "expiry": "12/30", "cvc": "123"})
    assert bad.status_code == 422 and "isn't valid" in html.unescape(bad.text) and "4241" not in bad.text
    ok = httpx.post(
        link["url"], data={"card_number": number, "expiry": f"12/{clock.today().year % 100 + 2}", "cvc": "123"}
    )
    assert ok.status_code == 200 and "Mastercard ending 4444" in ok.text
    assert re.sub(r"\D", "", number) not in ok.text
    with db.session() as s:
        default = s.scalars(
            select(PaymentMethod).where(PaymentMethod.is_default.is_(True), PaymentMethod.last4 == "4444")
        ).all()
        assert len(default) == 2  # Bluebird's seeded card and Acme's new one
        rows = " ".join(f"{m.token}{m.brand}{m.last4}" for m in s.scalars(select(PaymentMethod)))
        audit = " ".join(str(a.before) + str(a.after) for a in s.scalars(select(AuditEntry)))
    assert "5555555555554444" not in rows + audit + caplog.text


def test_a_forged_card_link_is_refused(billing_server, db):
    link = httpx.post(f"{billing_server.url}/v1/payment-method/link", headers=ALEX).json()
    forged = link["url"][:-4] + "AAAA"
    r = httpx.post(forged, data={"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123"})
    assert r.status_code == 403 and "not valid" in r.text
    assert count(db, PaymentMethod) == 2
