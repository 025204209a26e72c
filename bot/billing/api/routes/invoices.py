"""Invoices: list, read, download (signed link), share by email, pay; the balance."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...documents.pdf import render_invoice_pdf
from ...payments.sandbox import get_provider
from ...services import invoices, payments
from .. import threaded
from ..deps import ActorDep, ClockDep, Db, IdempotencyKey, SlackAccountReader, keyed_write
from ..schemas import BalanceOut, InvoiceOut, LinkOut, MoneyOut, PaymentOut

router = threaded.router(prefix="/v1", tags=["invoices"])


@router.get("/invoices", response_model=list[InvoiceOut])
def list_invoices(
    db: Db,
    clock: ClockDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(description="open, paid, void or overdue")] = None,
    year: int | None = None,
    month: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[InvoiceOut]:
    """Newest first."""
    with db.session() as s:
        found = invoices.list_invoices(
            s, actor, status=status, year=year, month=month, since=since, until=until, limit=limit
        )
        return [InvoiceOut.of(i, clock) for i in found]


@router.get("/invoices/{number}", response_model=InvoiceOut)
def get_invoice(db: Db, clock: ClockDep, actor: ActorDep, number: str) -> InvoiceOut:
    with db.session() as s:
        return InvoiceOut.of(invoices.get_invoice(s, actor, number), clock)


@router.post("/invoices/{number}/download-link", response_model=LinkOut, status_code=201)
def download_link(db: Db, actor: ActorDep, number: str) -> LinkOut:
    with db.session() as s:
        link = invoices.download_link(s, actor, number)
        return LinkOut(url=link.url, expires_at=link.expires_at)


@router.get("/invoice-files/{token}", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def invoice_file(db: Db, clock: ClockDep, token: str) -> Response:
    """The PDF behind a download link. The signed, expiring link is the permission."""
    with db.session() as s:
        invoice = invoices.invoice_from_link(s, token)
        pdf = render_invoice_pdf(invoice, invoice.org, today=clock.today())
        filename = f"{invoice.number}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


class ShareIn(BaseModel):
    to: list[str] = Field(min_length=1, max_length=invoices.MAX_RECIPIENTS)
    note: str = Field("", max_length=1000)


class SharedOut(BaseModel):
    invoice: str
    sent_to: list[str]


@router.post("/invoices/{number}/share", response_model=SharedOut)
def share(db: Db, actor: ActorDep, number: str, body: ShareIn) -> SharedOut:
    """Email the invoice PDF (to a colleague, accounts payable...)."""
    with db.session(write=True) as s:
        invoice = invoices.share_invoice(s, actor, number, body.to, body.note)
        return SharedOut(invoice=invoice.number, sent_to=[t.strip().lower() for t in body.to])


@router.post(
    "/invoices/{number}/payments",
    response_model=PaymentOut,
    status_code=201,
    responses={200: {"description": "already paid: the existing payment"}},
)
def pay(db: Db, actor: ActorDep, number: str, key: IdempotencyKey, response: Response) -> PaymentOut:
    """Pay an open invoice with the card on file. Paying twice never charges twice."""

    def work(s: Session) -> tuple[PaymentOut, bool]:
        paid = payments.pay_invoice(s, actor, number, key, get_provider())
        p = paid.payment
        return PaymentOut(
            number=p.number,
            invoice=number.strip().upper(),
            amount=MoneyOut.of(p.amount, p.currency),
            status=p.status,
            card=f"{p.payment_method.brand} {p.payment_method.last4}",
            created_at=p.created_at,
        ), paid.created

    return keyed_write(db, response, work)


@router.get("/balance", response_model=BalanceOut)
def balance(db: Db, clock: ClockDep, actor: SlackAccountReader) -> BalanceOut:
    """What is owed, what is overdue, and the next due date."""
    with db.session() as s:
        b = invoices.balance(s, actor)
        return BalanceOut(
            open_total=MoneyOut.of(b.open_total),
            overdue_total=MoneyOut.of(b.overdue_total),
            next_due_date=b.next_due,
            open_invoices=[InvoiceOut.of(i, clock) for i in b.open_invoices],
        )
