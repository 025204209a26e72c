"""The acting user's org: summary, contracts, billing profile, card on file."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ...services import payments, profile, subscriptions
from ...services.access import billing_user
from .. import threaded
from ..deps import ActorDep, Db, SlackAccountReader
from ..schemas import CardOut, ContractOut, LinkOut, MeOut, PersonOut, ProfileFields

router = threaded.router(prefix="/v1", tags=["account"])


@router.get("/me", response_model=MeOut)
def me(db: Db, actor: SlackAccountReader) -> MeOut:
    """Who the acting user is, their org and edition. Lines are shown to Manage Billing holders only."""
    with db.session() as s:
        summary = subscriptions.org_summary(s, actor)
        contract = summary.contract
        edition = (
            next((x.product.name for x in contract.lines if x.product.kind == "edition"), None) if contract else None
        )
        return MeOut(
            email=summary.user.email,
            name=summary.user.name,
            org=summary.org.name,
            currency=summary.org.currency,
            timezone=summary.org.timezone,
            edition=edition,
            manage_billing=summary.user.manage_billing,
            is_system_admin=summary.user.is_system_admin,
            admins=[PersonOut(name=a.name, email=a.email) for a in summary.admins],
            contract=ContractOut.of(contract) if contract and summary.user.manage_billing else None,
        )


class ContactIn(BaseModel):
    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=32)


class ContactOut(BaseModel):
    email: str
    name: str
    phone: str | None


@router.patch("/me", response_model=ContactOut)
def update_contact(db: Db, actor: ActorDep, body: ContactIn) -> ContactOut:
    """The acting user's own contact details: name and phone (stored as E.164)."""
    with db.session(write=True) as s:
        user = profile.update_contact(s, actor, name=body.name, phone=body.phone)
        return ContactOut(email=user.email, name=user.name, phone=user.phone)


@router.get("/contracts", response_model=list[ContractOut])
def contracts(db: Db, actor: ActorDep) -> list[ContractOut]:
    with db.session() as s:
        return [ContractOut.of(c) for c in subscriptions.contracts(s, actor)]


@router.get("/billing-profile", response_model=ProfileFields)
def get_billing_profile(db: Db, actor: ActorDep) -> ProfileFields:
    with db.session() as s:
        return ProfileFields.model_validate(profile.get_profile(s, actor), from_attributes=True)


@router.patch("/billing-profile", response_model=ProfileFields)
def update_billing_profile(db: Db, actor: ActorDep, body: ProfileFields) -> ProfileFields:
    """Change the billing contact or address. Every field is checked before anything is saved."""
    with db.session(write=True) as s:
        updated = profile.update_profile(s, actor, body.model_dump(exclude_unset=True))
        return ProfileFields.model_validate(updated, from_attributes=True)


@router.get("/payment-method", response_model=CardOut | None)
def payment_method(db: Db, actor: ActorDep) -> CardOut | None:
    with db.session() as s:
        user = billing_user(s, actor)
        method = payments.default_method(s, user.org_id)
        return CardOut.model_validate(method) if method else None


@router.post("/payment-method/link", response_model=LinkOut, status_code=201)
def payment_method_link(db: Db, actor: ActorDep) -> LinkOut:
    """A short-lived signed link to the provider's card form. The bot never sees a card number."""
    with db.session(write=True) as s:
        link = payments.card_update_link(s, actor)
        return LinkOut(url=link.url, expires_at=link.expires_at)
