"""Linking Slack workspaces to orgs: where an org's Slack identities count (issue 17)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.orm import Org, SlackWorkspace
from ..domain.errors import Forbidden, Invalid, NotFound
from . import audit
from .access import Actor, admins_of, find_user

# Slack team ids (T...) and Enterprise Grid org ids (E...): upper-case letters and digits.
TEAM_ID = re.compile(r"[TE][A-Z0-9]{2,31}")


@dataclass(frozen=True)
class Linked:
    org: Org
    team_id: str
    created: bool


def team_id(value: str) -> str:
    text = (value or "").strip()
    if not TEAM_ID.fullmatch(text):
        raise Invalid("That is not a Slack team id.", fields={"team_id": "like T0123ABCD"})
    return text


def _link(session: Session, actor: Actor, org: Org, team: str, by: str) -> Linked:
    found = session.scalar(
        select(SlackWorkspace).where(SlackWorkspace.org_id == org.id, SlackWorkspace.team_id == team)
    )
    if found is not None:
        return Linked(org, team, False)
    session.add(SlackWorkspace(org_id=org.id, team_id=team, linked_by=by))
    session.flush()
    audit.record(
        session,
        actor,
        action="slack_workspace.link",
        entity="slack_workspace",
        entity_id=team,
        org_id=org.id,
        after={"team_id": team, "linked_by": by},
    )
    return Linked(org, team, True)


def link_by_admin(session: Session, actor: Actor, team: str) -> Linked:
    """The OAuth install: the installing user, verified by Slack as a member of ``team`` (the
    caller's Slack identity), must be an active system administrator of a billing org; ``team``
    is then linked to that org. The workspace need not be linked yet: linking is how it becomes so."""
    team = team_id(team)
    if actor.channel != "slack" or actor.slack_team != team:
        raise Forbidden(
            "A workspace is linked by a member of that workspace, through Slack.", code="slack_team_mismatch"
        )
    user = find_user(session, actor.email or "") if actor.email else None
    if user is None or not user.active:
        raise Forbidden(f"I couldn't find a customer account for {actor.email}.", code="unknown_user")
    if not user.is_system_admin:
        admins = admins_of(session, user.org_id)
        names = ", ".join(f"{a.name} ({a.email})" for a in admins) or "your system administrators"
        raise Forbidden(
            f"Only a system administrator of your company's account can link a Slack workspace: {names}.",
            code="needs_system_admin",
        )
    return _link(session, actor, user.org, team, by=user.email)


def _org_named(session: Session, name: str) -> Org:
    org = session.scalar(select(Org).where(Org.name == name.strip()))
    if org is None:
        raise NotFound(f"There is no org named {name!r}.", code="unknown_org")
    return org


def link_org(session: Session, org_name: str, team: str, *, by: str = "cli") -> Linked:
    """For an operator (one workspace, no OAuth install): link ``team`` to the org named ``org_name``."""
    return _link(session, Actor(channel="api", caller=by), _org_named(session, org_name), team_id(team), by=by)


def unlink_org(session: Session, org_name: str, team: str, *, by: str = "cli") -> bool:
    org, team = _org_named(session, org_name), team_id(team)
    found = session.scalar(
        select(SlackWorkspace).where(SlackWorkspace.org_id == org.id, SlackWorkspace.team_id == team)
    )
    if found is None:
        return False
    session.delete(found)
    audit.record(
        session,
        Actor(channel="api", caller=by),
        action="slack_workspace.unlink",
        entity="slack_workspace",
        entity_id=team,
        org_id=org.id,
        before={"team_id": team},
    )
    return True


def all_links(session: Session) -> list[tuple[str, str, str]]:
    """(org name, team id, linked by) for every link."""
    rows = session.execute(
        select(Org.name, SlackWorkspace.team_id, SlackWorkspace.linked_by)
        .join(SlackWorkspace.org)
        .order_by(Org.name, SlackWorkspace.team_id)
    )
    return [(org, team, by) for org, team, by in rows]
