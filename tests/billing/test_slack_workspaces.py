"""Slack workspaces linked to orgs: who may link one, and the operator's command."""

import pytest
from sqlalchemy import select

from bot.billing.adapters.orm import AuditEntry, SlackWorkspace
from bot.billing.domain.errors import Forbidden, Invalid, NotFound
from bot.billing.services import workspaces
from bot.billing.services.access import Actor, member
from bot.billing.slack_link import main


def slack(email: str, team: str) -> Actor:
    return Actor(email, channel="slack", caller="gateway", slack_team=team)


def test_a_system_administrator_links_the_workspace_they_were_verified_in(db):
    with db.session(write=True) as s:
        with pytest.raises(Forbidden) as refused:
            member(s, slack("alex@acme.example", "TNEW"))
        assert refused.value.code == "slack_workspace_not_linked"
        linked = workspaces.link_by_admin(s, slack("alex@acme.example", "TNEW"), "TNEW")
        assert (linked.org.name, linked.created) == ("Acme Corp", True)
        assert workspaces.link_by_admin(s, slack("alex@acme.example", "TNEW"), "TNEW").created is False
    with db.session() as s:
        assert member(s, slack("priya@acme.example", "TNEW")).email == "priya@acme.example"
        with pytest.raises(Forbidden):  # Bluebird's users still not from there
            member(s, slack("olivia@bluebird.example", "TNEW"))
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "slack_workspace.link")).one()
        assert (entry.actor, entry.caller, entry.entity_id) == ("alex@acme.example", "gateway", "TNEW")


@pytest.mark.parametrize(
    "actor,team,code",
    [
        (slack("sam@acme.example", "TNEW"), "TNEW", "needs_system_admin"),
        (slack("nobody@acme.example", "TNEW"), "TNEW", "unknown_user"),
        (slack("alex@acme.example", "TOTHER"), "TNEW", "slack_team_mismatch"),  # not a member of the linked team
        (Actor("alex@acme.example", channel="widget", caller="gateway"), "TNEW", "slack_team_mismatch"),
    ],
)
def test_nobody_else_links_a_workspace(db, actor, team, code):
    with db.session(write=True) as s, pytest.raises(Forbidden) as refused:
        workspaces.link_by_admin(s, actor, team)
    assert refused.value.code == code
    with db.session() as s:
        assert s.scalar(select(SlackWorkspace).where(SlackWorkspace.team_id == team)) is None


def test_a_team_id_must_look_like_one(db):
    with db.session(write=True) as s:
        for bad in ("", "t0001", "T0001 x", "X0001", "T" + "1" * 40):
            with pytest.raises(Invalid):
                workspaces.link_org(s, "Acme Corp", bad)
        with pytest.raises(NotFound):
            workspaces.link_org(s, "Nobody Inc", "T0999")


def test_the_operator_links_lists_and_unlinks_from_the_command_line(db, database_url, monkeypatch, capsys):
    from bot.billing.config import get_settings

    monkeypatch.setattr(get_settings(), "database_url", database_url)
    assert main(["link", "Bluebird Bakery", "T0999"]) == 0
    assert "T0999 linked to Bluebird Bakery" in capsys.readouterr().out
    with db.session() as s:
        assert member(s, slack("olivia@bluebird.example", "T0999")).email == "olivia@bluebird.example"
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "T0999\tBluebird Bakery" in listed and "T0001\tAcme Corp" in listed
    assert main(["unlink", "Bluebird Bakery", "T0999"]) == 0
    with db.session() as s, pytest.raises(Forbidden):
        member(s, slack("olivia@bluebird.example", "T0999"))
    assert main(["link", "Nobody Inc", "T0999"]) == 1
