"""Who is acting, and may they? The backend's own guard: the bot is never the only one."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..adapters.orm import User
from ..domain.errors import Forbidden

CHANNELS = {"slack", "widget", "shell", "api", "web", "test", "phone"}


@dataclass(frozen=True)
class Actor:
    """The caller (a service, already authenticated) and the user it acts for, if any."""

    email: str | None = None
    channel: str = "api"
    caller: str = "service"

    @property
    def label(self) -> str:
        return self.email or f"service:{self.caller}"


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def member(session: Session, actor: Actor) -> User:
    """The acting user, who must be a known, active user of some org."""
    if not actor.email:
        raise Forbidden(
            "This needs a signed-in customer: tell me who you are through your company's Slack or log in to the website.",
            code="no_acting_user",
        )
    user = find_user(session, actor.email)
    if user is None or not user.active:
        raise Forbidden(
            f"I couldn't find a customer account for {actor.email}. Pricing and general questions still work; "
            "for account changes, use the email your company's account is registered with.",
            code="unknown_user",
        )
    return user


def admins_of(session: Session, org_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.org_id == org_id, User.is_system_admin.is_(True), User.active.is_(True))
            .order_by(User.name)
        )
    )


def billing_user(session: Session, actor: Actor) -> User:
    """The acting user, who must hold Manage Billing. The 403 names who can grant it."""
    user = member(session, actor)
    if not user.manage_billing:
        admins = admins_of(session, user.org_id)
        names = ", ".join(f"{a.name} ({a.email})" for a in admins) or "your system administrators"
        raise Forbidden(
            "Billing changes and invoices need the Manage Billing permission, which you don't have. "
            f"A system administrator can grant it in your profile or in a permission set: {names}.",
            code="needs_manage_billing",
            details={
                "permission": "manage_billing",
                "admins": [{"name": a.name, "email": a.email} for a in admins],
            },
        )
    return user
