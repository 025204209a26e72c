"""Who is acting, and may they? The backend's own guard: the bot is never the only one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..adapters.orm import SlackWorkspace, User
from ..domain.errors import Forbidden

CHANNELS = {"slack", "widget", "shell", "api", "web", "test", "phone"}


@dataclass(frozen=True)
class Actor:
    """The caller (a service, already authenticated) and the user it acts for, if any. A Slack
    identity (channel "slack") carries the Slack team it was verified in."""

    email: str | None = None
    channel: str = "api"
    caller: str = "internal"  # the calling service (actions, gateway); "internal": this process itself
    slack_team: str | None = None

    @property
    def label(self) -> str:
        return self.email or f"service:{self.caller}"


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def slack_workspace_linked(session: Session, team: str | None, org_id: int | None = None) -> bool:
    """Is Slack team ``team`` linked to ``org_id`` (None: to any org)?"""
    if not team:
        return False
    query = select(SlackWorkspace.id).where(SlackWorkspace.team_id == team)
    if org_id is not None:
        query = query.where(SlackWorkspace.org_id == org_id)
    return session.scalar(query.limit(1)) is not None


def _not_linked() -> Forbidden:
    return Forbidden(
        "This Slack workspace isn't linked to a customer account, so I can't show or change account details "
        "from here. Pricing and general questions still work. A system administrator of your company's account "
        "can link it by installing the app in it.",
        code="slack_workspace_not_linked",
    )


def known_user(session: Session, actor: Actor) -> User | None:
    """The user the actor names, if billing knows them (None for a visitor or an unknown email).

    A Slack identity counts only from a Slack workspace linked to the user's own org: anyone can
    put any address in a Slack profile of some other workspace, and Slack confirming it proves the
    mailbox, not the company. Unlinked workspaces are refused before the user is looked up, so
    their answers don't tell which emails are customers."""
    if not actor.email:
        return None
    if actor.channel == "slack" and not slack_workspace_linked(session, actor.slack_team):
        raise _not_linked()
    user = find_user(session, actor.email)
    if (
        user is not None
        and actor.channel == "slack"
        and not slack_workspace_linked(session, actor.slack_team, user.org_id)
    ):
        raise _not_linked()
    return user


def member(session: Session, actor: Actor) -> User:
    """The acting user, who must be a known, active user of some org."""
    if not actor.email:
        raise Forbidden(
            "This needs a signed-in customer: tell me who you are through your company's Slack or log in to the "
            "website.",
            code="no_acting_user",
        )
    user = known_user(session, actor)
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
