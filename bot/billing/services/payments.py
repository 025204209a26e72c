"""Paying invoices with the card on file, and replacing that card through a signed link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..adapters.orm import Invoice, Org, Payment, PaymentMethod
from ..clock import clock_of
from ..config import get_settings
from ..domain import signing
from ..domain.errors import Conflict, Forbidden, Invalid, NotFound, PaymentFailed, Unavailable
from ..domain.money import Money
from ..payments.provider import Card, Declined, PaymentProvider, ProviderUnavailable
from . import audit
from .access import Actor, billing_user, find_user


@dataclass(frozen=True)
class Paid:
    payment: Payment
    created: bool


def default_method(session: Session, org_id: int) -> PaymentMethod | None:
    return session.scalar(
        select(PaymentMethod)
        .where(PaymentMethod.org_id == org_id, PaymentMethod.is_default.is_(True))
        .order_by(PaymentMethod.id.desc())
    )


def pay_invoice(session: Session, actor: Actor, number: str, idempotency_key: str, provider: PaymentProvider) -> Paid:
    if not idempotency_key or len(idempotency_key) > 64:
        raise Invalid(
            "An Idempotency-Key of 1 to 64 characters is required.",
            fields={"idempotency_key": "required, at most 64 characters"},
        )
    user = billing_user(session, actor)
    invoice = session.scalar(select(Invoice).where(Invoice.number == number.strip().upper()).with_for_update())
    if invoice is None or invoice.org_id != user.org_id:
        raise NotFound(f"I can't find invoice {number}.", code="unknown_invoice")
    session.refresh(invoice)
    earlier = session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if earlier is not None:
        if earlier.invoice_id != invoice.id:
            raise Conflict("This idempotency key was already used for another payment.", code="idempotency_key_reused")
        return Paid(earlier, created=False)
    if invoice.status == "paid":
        paid = session.scalar(select(Payment).where(Payment.invoice_id == invoice.id, Payment.status == "succeeded"))
        if paid is not None:
            return Paid(paid, created=False)
        raise Conflict(f"{invoice.number} is already paid.", code="already_paid")
    if invoice.status == "void":
        raise Conflict(f"{invoice.number} was voided; there is nothing to pay.", code="invoice_void")
    method = default_method(session, user.org_id)
    if method is None:
        raise Conflict("There is no card on file. I can send you a secure link to add one.", code="no_payment_method")
    amount = Money(invoice.total, invoice.currency)
    try:
        charge = provider.charge(
            method.token,
            amount,
            idempotency_key=f"{invoice.number}:{idempotency_key}",
            description=f"Invoice {invoice.number}",
        )
    except Declined as exc:
        raise PaymentFailed(
            f"Your {method.brand.title()} ending {method.last4} was declined, so {invoice.number} is still open. "
            "You can update the card through a secure link, or pay by bank transfer.",
            code="card_declined",
        ) from exc
    except ProviderUnavailable as exc:
        raise Unavailable(
            "The payment service isn't answering right now; nothing was charged. Please try again in a few minutes.",
            code="provider_unavailable",
        ) from exc
    paid_at = clock_of(session).now()
    payment = Payment(
        invoice_id=invoice.id,
        org_id=user.org_id,
        payment_method_id=method.id,
        amount=invoice.total,
        currency=invoice.currency,
        status="succeeded",
        provider_ref=charge.reference,
        idempotency_key=idempotency_key,
        created_by_id=user.id,
        created_at=paid_at,
    )
    before = {"status": invoice.status}
    invoice.status, invoice.paid_at = "paid", paid_at
    session.add(payment)
    session.flush()
    audit.record(
        session,
        actor,
        action="invoice.pay",
        entity="invoice",
        entity_id=invoice.number,
        org_id=user.org_id,
        before=before,
        after={
            "status": "paid",
            "payment": payment.number,
            "amount": invoice.total,
            "card": f"{method.brand} {method.last4}",
        },
    )
    return Paid(payment, created=True)


# -- replacing the card ---------------------------------------------------------------------------

CARD_PURPOSE = "card-update"


@dataclass(frozen=True)
class CardLink:
    url: str
    expires_at: datetime


def card_update_link(session: Session, actor: Actor, *, now: datetime | None = None) -> CardLink:
    user = billing_user(session, actor)
    settings = get_settings()
    expires = (now or clock_of(session).now()) + timedelta(minutes=settings.card_link_ttl_minutes)
    token = signing.sign(settings.billing_signing_key, CARD_PURPOSE, {"org": user.org_id, "u": user.email}, expires)
    audit.record(
        session,
        actor,
        action="payment_method.link",
        entity="org",
        entity_id=user.org_id,
        org_id=user.org_id,
        after={"expires_at": expires.isoformat()},
    )
    return CardLink(f"{settings.billing_public_url}/pay/card/{token}", expires)


def card_link_owner(session: Session, token: str, *, now: datetime | None = None) -> tuple[Org, str]:
    """The org and user a card link was made for; refuses altered or expired links."""
    try:
        claims = signing.verify(
            get_settings().billing_signing_key, CARD_PURPOSE, token, now=now or clock_of(session).now()
        )
    except signing.Expired as exc:
        raise Forbidden("This link has expired. Ask the assistant for a new one.", code="link_expired") from exc
    except signing.BadSignature as exc:
        raise Forbidden("This link is not valid.", code="link_invalid") from exc
    user = find_user(session, claims["u"])
    if user is None or user.org_id != claims["org"] or not user.manage_billing:
        raise Forbidden("This link is no longer valid for your account.", code="link_invalid")
    return user.org, user.email


def save_card(session: Session, token: str, card: Card) -> PaymentMethod:
    """Store the provider's token as the org's default payment method."""
    org, email = card_link_owner(session, token)
    old = default_method(session, org.id)
    session.execute(update(PaymentMethod).where(PaymentMethod.org_id == org.id).values(is_default=False))
    method = PaymentMethod(
        org_id=org.id,
        token=card.token,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=True,
    )
    session.add(method)
    session.flush()
    audit.record(
        session,
        Actor(email=email, channel="web"),
        action="payment_method.update",
        entity="org",
        entity_id=org.id,
        org_id=org.id,
        before={"card": f"{old.brand} {old.last4}"} if old else None,
        after={"card": f"{card.brand} {card.last4}", "exp": f"{card.exp_month:02d}/{card.exp_year}"},
    )
    return method
