"""Invoices: issue, list, read, balance, download links, sharing by email."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import extract, select
from sqlalchemy.orm import Session, selectinload

from ..adapters.orm import Contract, Invoice, InvoiceLine, User
from ..clock import clock_of
from ..config import get_settings
from ..documents.mail import send_invoice_email
from ..domain import signing
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.money import Money
from . import audit
from .access import Actor, billing_user
from .numbering import next_number
from .validation import free_text, normalise_email

STATUSES = {"open", "paid", "void"}


@dataclass(frozen=True)
class InvoiceItem:
    description: str
    product_id: int | None
    quantity: int
    unit_amount: int
    period_start: date | None
    period_end: date | None
    amount: int


def issue_invoice(
    session: Session,
    contract: Contract,
    *,
    lines: list[InvoiceItem],
    now: datetime,
    issue_date: date | None = None,
) -> Invoice:
    # The organisation's day, like a quote's effective date: late evening in New York is already
    # tomorrow in UTC, and an invoice must not be dated after the period it charges starts.
    issue_date = issue_date or now.astimezone(ZoneInfo(contract.org.timezone)).date()
    subtotal = sum(item.amount for item in lines)
    invoice = Invoice(
        number=f"draft-{secrets.token_hex(8)}",
        org_id=contract.org_id,
        contract_id=contract.id,
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=get_settings().invoice_net_days),
        status="open",
        currency=contract.currency,
        subtotal=subtotal,
        tax=0,
        total=subtotal,
    )
    invoice.lines = [
        InvoiceLine(
            description=i.description,
            product_id=i.product_id,
            quantity=i.quantity,
            unit_amount=i.unit_amount,
            period_start=i.period_start,
            period_end=i.period_end,
            amount=i.amount,
        )
        for i in lines
    ]
    session.add(invoice)
    session.flush()
    # Numbered last: the gap-free counter stays locked until the transaction ends.
    invoice.number = next_number(session, "invoice")
    return invoice


def list_invoices(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    year: int | None = None,
    month: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 20,
    today: date | None = None,
) -> list[Invoice]:
    """Newest first. ``status`` may also be ``overdue`` (open and due before ``today``, the clock's
    UTC day by default, as the API's ``overdue`` flag)."""
    user = billing_user(session, actor)
    fields = {}
    if status and status not in STATUSES | {"overdue"}:
        fields["status"] = "one of open, paid, void, overdue"
    if month is not None and not 1 <= month <= 12:
        fields["month"] = "1 to 12"
    if not 1 <= limit <= 100:
        fields["limit"] = "1 to 100"
    if fields:
        raise Invalid("Some filters are not valid.", fields=fields)
    query = select(Invoice).where(Invoice.org_id == user.org_id).options(selectinload(Invoice.lines))
    if status == "overdue":
        query = query.where(Invoice.status == "open", Invoice.due_date < (today or clock_of(session).today()))
    elif status:
        query = query.where(Invoice.status == status)
    if year is not None:
        query = query.where(extract("year", Invoice.issue_date) == year)
    if month is not None:
        query = query.where(extract("month", Invoice.issue_date) == month)
    if since is not None:
        query = query.where(Invoice.issue_date >= since)
    if until is not None:
        query = query.where(Invoice.issue_date <= until)
    query = query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(limit)
    return list(session.scalars(query))


def get_invoice(session: Session, actor: Actor, number: str) -> Invoice:
    return _users_invoice(session, billing_user(session, actor), number)


def _users_invoice(session: Session, user: User, number: str) -> Invoice:
    invoice = session.scalar(
        select(Invoice).where(Invoice.number == number.strip().upper()).options(selectinload(Invoice.lines))
    )
    if invoice is None or invoice.org_id != user.org_id:  # another org's invoice does not exist for you
        raise NotFound(f"I can't find invoice {number}.", code="unknown_invoice")
    return invoice


@dataclass(frozen=True)
class Balance:
    currency: str
    open_total: Money
    overdue_total: Money
    open_invoices: list[Invoice]
    next_due: date | None


def balance(session: Session, actor: Actor, *, today: date | None = None) -> Balance:
    user = billing_user(session, actor)
    org = user.org
    today = today or clock_of(session).today()
    open_invoices = list(
        session.scalars(
            select(Invoice)
            .where(Invoice.org_id == org.id, Invoice.status == "open")
            .order_by(Invoice.due_date)
            .options(selectinload(Invoice.lines))  # the answer shows each one's lines: one query, not one each
        )
    )
    open_total = Money(sum(i.total for i in open_invoices), org.currency)
    overdue = Money(sum(i.total for i in open_invoices if i.is_overdue(today)), org.currency)
    upcoming = [i.due_date for i in open_invoices if i.due_date >= today]
    return Balance(org.currency, open_total, overdue, open_invoices, min(upcoming) if upcoming else None)


# -- download links -------------------------------------------------------------------------------

PDF_PURPOSE = "invoice-pdf"


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


def download_link(session: Session, actor: Actor, number: str, *, now: datetime | None = None) -> DownloadLink:
    invoice = get_invoice(session, actor, number)
    settings = get_settings()
    now = now or clock_of(session).now()
    expires = now + timedelta(minutes=settings.download_link_ttl_minutes)
    token = signing.sign(settings.billing_signing_key, PDF_PURPOSE, {"inv": invoice.number}, expires)
    return DownloadLink(f"{settings.billing_public_url}/v1/invoice-files/{token}", expires)


def invoice_from_link(session: Session, token: str, *, now: datetime | None = None) -> Invoice:
    """The invoice a download link points to. The link itself is the permission."""
    try:
        claims = signing.verify(
            get_settings().billing_signing_key, PDF_PURPOSE, token, now=now or clock_of(session).now()
        )
    except signing.Expired as exc:
        raise Forbidden(
            "This download link has expired; ask for the invoice again to get a new one.", code="link_expired"
        ) from exc
    except signing.BadSignature as exc:
        raise Forbidden("This download link is not valid.", code="link_invalid") from exc
    invoice = session.scalar(
        select(Invoice).where(Invoice.number == claims["inv"]).options(selectinload(Invoice.lines))
    )
    if invoice is None:
        raise NotFound("This invoice no longer exists.", code="unknown_invoice")
    return invoice


# -- sharing --------------------------------------------------------------------------------------

MAX_RECIPIENTS = 5


def share_invoice(session: Session, actor: Actor, number: str, recipients: list[str], note: str = "") -> Invoice:
    """Email the invoice PDF. The mail is sent before the audit entry commits: if the mail
    server fails, the request fails and nothing is recorded as sent."""
    user = billing_user(session, actor)
    invoice = _users_invoice(session, user, number)
    if not recipients:
        raise Invalid("Who should I send it to?", fields={"to": "at least one email address"})
    if len(recipients) > MAX_RECIPIENTS:
        raise Invalid(
            f"I can send to at most {MAX_RECIPIENTS} addresses at once.", fields={"to": f"at most {MAX_RECIPIENTS}"}
        )
    if len(note) > 1000:
        raise Invalid("The note is too long (1,000 characters at most).", fields={"note": "at most 1000 characters"})
    addresses = [normalise_email(r, field="to") for r in recipients]
    send_invoice_email(
        invoice,
        invoice.org,
        to=addresses,
        sender_name=user.name,
        note=free_text(note),
        today=clock_of(session).today(),
    )
    audit.record(
        session,
        actor,
        action="invoice.share",
        entity="invoice",
        entity_id=invoice.number,
        org_id=invoice.org_id,
        after={"to": addresses},
    )
    return invoice
