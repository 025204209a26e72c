"""The org's billing contact and billing address, and a user's own contact details."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.orm import BillingProfile, User
from ..domain.errors import Invalid
from . import audit
from .access import Actor, billing_user, member
from .validation import free_text, normalise_email, normalise_phone, required_text

LIMITS = {
    "contact_name": 200,
    "contact_email": 254,
    "contact_phone": 32,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "country": 2,
}


def _fields(profile: BillingProfile) -> dict[str, str]:
    return {name: getattr(profile, name) for name in LIMITS}


def get_profile(session: Session, actor: Actor) -> BillingProfile:
    user = billing_user(session, actor)
    profile = session.scalar(select(BillingProfile).where(BillingProfile.org_id == user.org_id))
    return profile or BillingProfile(org_id=user.org_id, **{k: "" for k in LIMITS})


def update_profile(session: Session, actor: Actor, changes: dict[str, str | None]) -> BillingProfile:
    """Change some fields; the others stay. All are checked before anything is written."""
    user = billing_user(session, actor)
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for name, value in changes.items():
        if value is None:
            continue
        if name not in LIMITS:
            errors[name] = "unknown field"
            continue
        value = free_text(value)  # an address or a name: never a card number
        try:
            if len(value) > LIMITS[name]:
                raise Invalid("too long", fields={name: f"at most {LIMITS[name]} characters"})
            if name == "contact_email" and value:
                value = normalise_email(value, field=name)
            elif name == "contact_phone" and value:
                value = normalise_phone(value, field=name)
            elif name == "country" and value:
                if not (len(value) == 2 and value.isalpha()):
                    raise Invalid("bad country", fields={name: "a two-letter country code, e.g. US"})
                value = value.upper()
        except Invalid as exc:
            errors.update(exc.details["fields"])
            continue
        clean[name] = value
    if errors:
        raise Invalid("Some billing details are not valid; nothing was changed.", fields=errors)
    if not clean:
        raise Invalid("Tell me what to change: the billing contact or the address.", fields={"body": "no changes"})
    profile = session.scalar(select(BillingProfile).where(BillingProfile.org_id == user.org_id).with_for_update())
    if profile is None:
        profile = BillingProfile(org_id=user.org_id, **{k: "" for k in LIMITS})
        session.add(profile)
    before = _fields(profile)
    for name, value in clean.items():
        setattr(profile, name, value)
    session.flush()
    audit.record(
        session,
        actor,
        action="billing_profile.update",
        entity="org",
        entity_id=user.org_id,
        org_id=user.org_id,
        before=before,
        after=_fields(profile),
    )
    return profile


def update_contact(session: Session, actor: Actor, *, name: str | None = None, phone: str | None = None) -> User:
    """A user's own contact details (any member may change their own)."""
    user = member(session, actor)
    errors: dict[str, str] = {}
    clean: dict[str, str | None] = {}
    if name is not None:
        try:
            clean["name"] = required_text(name, "name", max_len=200)
        except Invalid as exc:
            errors.update(exc.details["fields"])
    if phone is not None:
        try:
            clean["phone"] = normalise_phone(phone) if phone.strip() else None
        except Invalid as exc:
            errors.update(exc.details["fields"])
    if errors:
        raise Invalid("Some contact details are not valid; nothing was changed.", fields=errors)
    if not clean:
        raise Invalid("Tell me what to change: your name or phone number.", fields={"body": "no changes"})
    before = {"name": user.name, "phone": user.phone}
    for key, value in clean.items():
        setattr(user, key, value)
    session.flush()
    audit.record(
        session,
        actor,
        action="user.contact_update",
        entity="user",
        entity_id=user.id,
        org_id=user.org_id,
        before=before,
        after={"name": user.name, "phone": user.phone},
    )
    return user
