"""Issue 17, item 8: a Slack identity counts only in a workspace linked to the user's organisation.

The review found that anyone in ANOTHER Slack workspace whose profile email read
``Alex@Acme.Example`` got Acme's account, and that a profile without ``is_email_confirmed`` was
taken as verified. End to end: signed Slack requests into a real gateway (its own process, Slack
on) in front of the session's real Rasa, action server and billing; Slack's Web API is the local
mock. Billing links Acme to the demo team T0001 (the mock's); every other team is a stranger."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from bot.billing.adapters.orm import AuditEntry, Order, Quote
from bot.launch.runner import Service
from tests.billing.helpers import count
from tests.conftest import reset
from tests.e2e.gateways import SECRET, start_gateway, url_of
from tests.slack_mock import SlackMock, SlackSender, new_ts

LINKED = "T0001"  # the demo team Acme is linked to (bot/billing/seed/demo.json)
ACCOUNT_DATA = re.compile(r"INV-\d+|Q-\d+|ORD-\d+|Acme|Manage Billing|overdue", re.IGNORECASE)

# user id -> (profile email, the user's own team, is_email_confirmed as Slack answers it; None: absent)
STRANGERS = {
    "UEVE1": ("Alex@Acme.Example", "TOTHER", True),  # another workspace, Alex's email in mixed case
    "UEVE2": ("ALEX@ACME.EXAMPLE", "TEVIL", True),
    "UEVE3": ("alex@acme.example", "TOTHER", True),
    "UGUEST": ("alex@acme.example", "TOTHER", True),  # a Slack Connect guest writing from Acme's workspace
}
UNCONFIRMED = {
    "UNOCONF": ("alex@acme.example", LINKED, None),  # is_email_confirmed missing
    "USTRCONF": ("alex@acme.example", LINKED, "true"),  # present, but not exactly true
    "UONECONF": ("alex@acme.example", LINKED, 1),
}


@dataclass
class Slack:
    api: SlackMock
    gateway: Service

    def sender(self, team: str) -> SlackSender:
        return SlackSender(url_of(self.gateway), SECRET, team=team)

    def posts(self, user: str) -> list[str]:
        return [c.args.get("text") or "" for c in self.api.called("chat.postMessage", channel=f"D{user}")]

    def say(self, user: str, text: str, team: str) -> list[str]:
        """DM the bot as ``user`` (events come from ``team``); the bot's replies to it."""
        before = len(self.posts(user))
        send = self.sender(team)
        assert send.event(send.dm(user, text)).status_code == 200
        self.api.wait_for("chat.postMessage", before + 1, 60, lambda c: c.args.get("channel") == f"D{user}")
        self.api.quiet(1.5)
        return self.posts(user)[before:]

    def home(self, user: str, team: str) -> str:
        before = len(self.api.called("views.publish", user_id=user))
        send = self.sender(team)
        send.event(
            {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home", "event_ts": new_ts()}
        )
        self.api.wait_for("views.publish", before + 1, 30, lambda c: c.args.get("user_id") == user)
        return str(self.api.called("views.publish", user_id=user)[-1].args["view"]["blocks"])


@pytest.fixture(scope="module")
def slack_gateway(stack, tmp_path_factory) -> Iterator[Slack]:
    api = SlackMock(team=LINKED).start()
    api.add_user("UALEX", "alex@acme.example", "Alex Rivera")
    for user, (email, team, confirmed) in {**STRANGERS, **UNCONFIRMED}.items():
        api.add_user(user, email, "Alex Rivera", team_id=team, confirmed=confirmed)
    gateway = start_gateway(stack, tmp_path_factory.mktemp("slack-identity"), api)
    try:
        yield Slack(api, gateway)
    finally:
        gateway.stop()
        api.stop()


@pytest.fixture
def slack(slack_gateway, billing_db) -> Slack:
    reset(billing_db)
    slack_gateway.api.reset()
    return slack_gateway


def changes(db) -> tuple[int, int, int]:
    return count(db, Quote), count(db, Order), count(db, AuditEntry)


@pytest.mark.parametrize("user", sorted(STRANGERS))
def test_a_user_of_another_workspace_with_alexs_email_gets_nothing_of_acme(slack, billing_db, user):
    team = LINKED if user == "UGUEST" else STRANGERS[user][1]
    before = changes(billing_db)
    said = slack.say(user, "show my invoices", team)
    assert not any(ACCOUNT_DATA.search(t) for t in said), said
    assert any("workspace isn't linked" in t for t in said), said  # told kindly, once
    said = slack.say(user, "add 5 enterprise licenses", team) + slack.say(user, "yes", team)
    said += slack.say(user, "what do we owe?", team)
    assert not any(ACCOUNT_DATA.search(t) for t in said), said
    assert changes(billing_db) == before  # no quote, no order, nothing audited
    home = slack.home(user, team)
    assert not ACCOUNT_DATA.search(home) and "isn't linked" in home, home


@pytest.mark.parametrize("user", sorted(UNCONFIRMED))
def test_a_profile_whose_email_slack_has_not_confirmed_is_no_identity(slack, billing_db, user):
    before = changes(billing_db)
    said = slack.say(user, "show my invoices", LINKED)
    assert not any(ACCOUNT_DATA.search(t) for t in said), said
    assert any("verified email" in t for t in said), said
    said = slack.say(user, "add 5 enterprise licenses", LINKED) + slack.say(user, "yes", LINKED)
    assert not any(ACCOUNT_DATA.search(t) for t in said), said
    assert changes(billing_db) == before
    home = slack.home(user, LINKED)
    assert not ACCOUNT_DATA.search(home) and "verified email" in home, home


def test_alex_in_acmes_linked_workspace_still_gets_the_account(slack):
    said = slack.say("UALEX", "show my invoices", LINKED)
    assert any("INV-1042" in t for t in said), said
    assert not any("isn't linked" in t for t in said)
    home = slack.home("UALEX", LINKED)
    assert "Acme Corp" in home and "Open balance" in home


def test_billing_itself_refuses_a_slack_identity_from_an_unlinked_workspace(stack, billing_db):
    """Even with the action server's own token (what a forged call to it would reach billing with),
    billing acts for a Slack user only in a workspace linked to that user's organisation."""
    reset(billing_db)
    env = stack.env()
    token = env["BILLING_ACTIONS_TOKEN"]
    before = changes(billing_db)
    for team in ("TOTHER", "T0002", "", "t0001", "T0001,T0002", None):  # T0002: Bluebird's only
        headers = {"Authorization": f"Bearer {token}", "X-Acting-User": "Alex@Acme.Example", "X-Channel": "slack"}
        if team is not None:
            headers["X-Slack-Team"] = team
        with httpx.Client(base_url=stack.billing_url, headers=headers, timeout=10) as billing:
            for answer in (
                billing.get("/v1/me"),
                billing.get("/v1/invoices"),
                billing.post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"}),
            ):
                assert answer.status_code == 403, (team, answer.text)
                assert answer.json()["error"]["code"] == "slack_workspace_not_linked"
    assert changes(billing_db) == before
    ok = httpx.get(
        f"{stack.billing_url}/v1/me",
        timeout=10,
        headers={
            "Authorization": f"Bearer {token}",
            "X-Acting-User": "alex@acme.example",
            "X-Channel": "slack",
            "X-Slack-Team": LINKED,
        },
    )
    assert ok.status_code == 200 and ok.json()["org"] == "Acme Corp"


# -- linking a workspace by installing the app (OAuth) ------------------------------------------------


@pytest.fixture(scope="module")
def oauth_gateway(stack, tmp_path_factory) -> Iterator[Slack]:
    api = SlackMock(team="TNEW").start()
    api.add_user("UALEXNEW", "alex@acme.example", "Alex Rivera", team_id="TNEW")
    api.add_user("UALEXSAM", "alex@acme.example", "Alex Rivera", team_id="TSAMS")
    api.add_user("USAMSAM", "sam@acme.example", "Sam Lee", team_id="TSAMS")
    api.add_user("UALEXUNC", "alex@acme.example", "Alex Rivera", team_id="TUNC", confirmed=None)
    gateway = start_gateway(
        stack,
        tmp_path_factory.mktemp("slack-oauth"),
        api,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="oauth-secret",
    )
    try:
        yield Slack(api, gateway)
    finally:
        gateway.stop()
        api.stop()


def install(slack: Slack, team: str, installer: str) -> str:
    """Install the app in ``team`` as ``installer`` (Slack's OAuth flow against the mock)."""
    slack.api.install_team, slack.api.installer = team, installer
    with httpx.Client(base_url=url_of(slack.gateway), follow_redirects=False, timeout=30) as browser:
        page = browser.get("/slack/install")
        link = next(part for part in page.text.split('"') if "oauth/v2/authorize" in part).replace("&amp;", "&")
        state = parse_qs(urlparse(link).query)["state"][0]
        cookie = page.headers["set-cookie"].split(";")[0]
        done = browser.get(
            "/slack/oauth_redirect", params={"code": f"code-{team}", "state": state}, headers={"cookie": cookie}
        )
    assert done.status_code == 200, done.text
    return done.text


def test_installing_the_app_links_the_workspace_only_for_a_verified_admin(oauth_gateway, billing_db):
    slack = oauth_gateway
    reset(billing_db)
    # Sam is no system administrator: the app is installed, the workspace is not linked to Acme.
    page = install(slack, "TSAMS", "USAMSAM")
    said = slack.say("UALEXSAM", "show my invoices", "TSAMS")
    assert not any(ACCOUNT_DATA.search(t) for t in said) and any("isn't linked" in t for t in said), said
    assert "not linked" in page
    # An installer whose email Slack has not confirmed links nothing either.
    page = install(slack, "TUNC", "UALEXUNC")
    assert "not linked" in page
    # Alex, Acme's system administrator, installs it in a new workspace: linked, and his account works there.
    page = install(slack, "TNEW", "UALEXNEW")
    assert "Acme Corp" in page and "not linked" not in page
    said = slack.say("UALEXNEW", "show my invoices", "TNEW")
    assert any("INV-1042" in t for t in said), said
    # ... and still not in Sam's workspace.
    said = slack.say("UALEXSAM", "what do we owe?", "TSAMS")
    assert not any(ACCOUNT_DATA.search(t) for t in said), said
