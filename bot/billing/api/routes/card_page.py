"""The sandbox provider's hosted card form, reached through a signed, short-lived link.

In production this page belongs to the payment processor. The card number is read from the
form, handed to the provider to tokenize, and dropped: it is never stored, logged or echoed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ...domain.errors import Forbidden
from ...payments.sandbox import get_provider
from ...services import payments
from .. import threaded
from ..deps import ClockDep, Db

router = threaded.router(tags=["payment page"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _page(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    return templates.TemplateResponse(request, "card_form.html", context, status_code=status, headers=HEADERS)


def parse_expiry(text: str) -> tuple[int, int]:
    month, _, year = text.strip().partition("/")
    if not (month.strip().isdigit() and year.strip().isdigit() and len(year.strip()) in (2, 4)):
        raise ValueError("Please give the expiry date as MM/YY.")
    y = int(year)
    return int(month), y + 2000 if y < 100 else y


@router.get("/pay/card/{token}", response_class=HTMLResponse)
def card_form(request: Request, db: Db, token: str) -> HTMLResponse:
    with db.session() as s:
        try:
            org, _ = payments.card_link_owner(s, token)
        except Forbidden as exc:
            return _page(request, 403, error=exc.message, closed=True)
        current = payments.default_method(s, org.id)
        return _page(request, org=org.name, current=current)


@router.post("/pay/card/{token}", response_class=HTMLResponse)
def submit_card(
    request: Request,
    db: Db,
    clock: ClockDep,
    token: str,
    card_number: Annotated[str, Form(max_length=40)],
    expiry: Annotated[str, Form(max_length=7)],
    cvc: Annotated[str, Form(max_length=4)],
) -> HTMLResponse:
    with db.session(write=True) as s:
        try:
            org, _ = payments.card_link_owner(s, token)
        except Forbidden as exc:
            return _page(request, 403, error=exc.message, closed=True)
        try:
            month, year = parse_expiry(expiry)
            card = get_provider().tokenize(card_number, month, year, cvc, today=clock.today())
        except ValueError as exc:  # the messages are written for the card holder
            return _page(request, 422, org=org.name, error=str(exc))
        method = payments.save_card(s, token, card)
        return _page(request, org=org.name, saved=method)
