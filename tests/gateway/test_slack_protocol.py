"""Slack's side of the protocol, without Rasa: signatures (forged, stale, replayed), url_verification,
the settings that turn Slack on, the OAuth install on the gateway database, and the 3-second ack.

The gateway runs for real (uvicorn on loopback, its lifespan on) against a local mock of Slack's
Web API. Its bridge to Rasa records every call: here nothing may reach Rasa."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn

from bot.billing_client import BillingClient
from bot.gateway.app import Gateway, create_app
from bot.gateway.config import GatewaySettings
from bot.gateway.rasa import Rasa
from bot.gateway.slack import SlackConfigError
from bot.gateway.slack.wiring import mode_of
from tests.conftest import free_port
from tests.slack_mock import SlackMock, SlackSender, sign

SECRET = "test-signing-secret"


class RasaRecorder:
    """Counts what would reach Rasa (and answers nothing)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.calls.append(json.loads(request.content))
            return httpx.Response(200, json=[])

        return httpx.MockTransport(handle)


class Served:
    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(autouse=True)
def no_slack_settings_from_the_shell(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("SLACK_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def slack_api() -> Iterator[SlackMock]:
    with SlackMock() as mock:
        mock.add_user("UALEX", "alex@acme.example", "Alex Rivera")
        yield mock


def settings_for(slack_api: SlackMock, state_url: str, **slack: str) -> GatewaySettings:
    values = {"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-test", **slack}
    return GatewaySettings(
        gateway_database_url=state_url,
        slack_api_url=slack_api.api_url,
        billing_url=f"http://127.0.0.1:{free_port()}",
        **values,
    )


@pytest.fixture
def gateway(slack_api, gateway_state):
    """Start a gateway with the given SLACK_* settings; yields (served, rasa recorder)."""
    started: list[Served] = []
    url = gateway_state.engine.url.render_as_string(hide_password=False)

    def start(**slack: str) -> tuple[Served, RasaRecorder]:
        settings = settings_for(slack_api, url, **slack)
        recorder = RasaRecorder()
        gw = Gateway(
            settings=settings,
            state=gateway_state,
            rasa=Rasa(settings.rasa_webhook_url, "t", transport=recorder.transport()),
            billing=BillingClient(settings.billing_url, "t", timeout=1),
        )
        gw.aclose = _keep_state_open(gw)  # the fixture owns the state database
        served = Served(create_app(settings, gw, channels=("slack",))).__enter__()  # Slack only
        started.append(served)
        return served, recorder

    yield start
    for served in started:
        served.__exit__()


def _keep_state_open(gw: Gateway):
    async def aclose() -> None:
        await gw.rasa.aclose()
        await gw.billing.aclose()

    return aclose


# -- which settings turn Slack on ------------------------------------------------------------------


def test_without_slack_settings_the_routes_are_not_mounted(gateway_state):
    settings = GatewaySettings(gateway_database_url="sqlite://")
    assert mode_of(settings) is None
    app = create_app(settings, channels=("slack",))
    paths = {getattr(r, "path", None) for r in app.routes}
    assert "/healthz" in paths and not any(str(p).startswith("/slack") for p in paths)


@pytest.mark.parametrize(
    "given, problem",
    [
        ({"slack_signing_secret": "s"}, "SLACK_BOT_TOKEN"),
        ({"slack_bot_token": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"slack_client_id": "1.2"}, "SLACK_CLIENT_SECRET"),
        (
            {
                "slack_client_id": "1.2",
                "slack_client_secret": "c",
                "slack_bot_token": "xoxb-1",
                "slack_signing_secret": "s",
            },
            "not both",
        ),
    ],
)
def test_incomplete_slack_settings_say_what_is_missing(given, problem):
    with pytest.raises(SlackConfigError, match=problem):
        mode_of(GatewaySettings(**given))


def test_modes():
    http = mode_of(GatewaySettings(slack_bot_token="xoxb-1", slack_signing_secret="s"))
    socket = mode_of(GatewaySettings(slack_bot_token="xoxb-1", slack_app_token="xapp-1"))
    oauth = mode_of(GatewaySettings(slack_client_id="1.2", slack_client_secret="c", slack_signing_secret="s"))
    assert (http.http, http.socket, http.oauth) == (True, False, False)
    assert (socket.http, socket.socket, socket.oauth) == (False, True, False)
    assert (oauth.http, oauth.oauth) == (True, True)


# -- signatures ------------------------------------------------------------------------------------


def test_url_verification_answers_the_challenge(gateway):
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    body = json.dumps(
        {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    ).encode()
    answer = sender.post(body, "application/json")
    assert answer.status_code == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in answer.text
    assert rasa.calls == []


def test_forged_stale_and_replayed_requests_are_refused(gateway, slack_api):
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    event = sender.dm("UALEX", "add 5 licenses")

    forged = SlackSender(served.url, "not-the-secret").event(event)
    body = sender.event_body(event)
    stale = sender.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    unsigned = httpx.post(sender.url, content=body, headers={"content-type": "application/json"})
    tampered_headers = {"content-type": "application/json", **sign(SECRET, body)}
    tampered = httpx.post(sender.url, content=body.replace(b"add 5", b"add 500"), headers=tampered_headers)
    assert [r.status_code for r in (forged, stale, unsigned, tampered)] == [401, 401, 401, 401]

    headers = {"content-type": "application/json", **sign(SECRET, body)}
    first = httpx.post(sender.url, content=body, headers=headers)
    replayed = httpx.post(sender.url, content=body, headers=headers)
    assert first.status_code == 200 and replayed.status_code == 401
    slack_api.quiet(0.5)
    # Only the genuine first request reached the assistant; the refused ones never did.
    assert [c["message"] for c in rasa.calls] == ["add 5 licenses"]
    # As whom: one conversation per user per workspace, with the identity Slack verified and the
    # user's own team, which billing checks is linked to their org.
    call = rasa.calls[0]
    assert call["sender"] == "slack:T0001:UALEX"
    assert call["metadata"]["identity"] == {"email": "alex@acme.example", "name": "Alex Rivera", "slack_team": "T0001"}
    assert {k: call["metadata"][k] for k in ("channel", "team", "slack_channel", "slack_user", "is_dm")} == {
        "channel": "slack",
        "team": "T0001",
        "slack_channel": "DUALEX",
        "slack_user": "UALEX",
        "is_dm": True,
    }


def test_a_slow_slack_api_does_not_delay_the_ack(gateway, slack_api):
    served, rasa = gateway()
    slack_api.delays["users.info"] = 3.2  # identity lookups hang; the ack must not wait for them
    sender = SlackSender(served.url, SECRET)
    started = time.monotonic()
    answer = sender.event(sender.dm("UALEX", "hello"))
    assert answer.status_code == 200 and time.monotonic() - started < 3.0


def test_own_and_other_bots_messages_edits_and_deletes_are_ignored(gateway, slack_api):
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    for event in (
        sender.dm("UBOT", "my own reply"),
        sender.dm("UOTHER", "a bot says hi", bot_id="B999", subtype="bot_message"),
        sender.dm("UALEX", "", subtype="message_changed", message={"text": "add 9 licenses"}),
        sender.dm("UALEX", "", subtype="message_deleted"),
        sender.mention("UALEX", "hello", kind="message") | {"text": "no mention here"},
    ):
        assert sender.event(event).status_code == 200
    slack_api.quiet(0.7)
    assert rasa.calls == [] and slack_api.called("chat.postMessage") == []


# -- the OAuth install -------------------------------------------------------------------------------


def test_oauth_install_stores_the_workspace_in_the_gateway_database(gateway, gateway_state, slack_api):
    served, _ = gateway(slack_bot_token="", slack_client_id="111.222", slack_client_secret="shh")
    with httpx.Client(base_url=served.url, follow_redirects=False) as browser:
        page = browser.get("/slack/install")
        assert page.status_code == 200 and "slack.com/oauth/v2/authorize" in page.text
        link = next(part for part in page.text.split('"') if "oauth/v2/authorize" in part).replace("&amp;", "&")
        query = parse_qs(urlparse(link).query)
        assert query["client_id"] == ["111.222"] and "users:read.email" in query["scope"][0]
        assert query["redirect_uri"][0].endswith("/slack/oauth_redirect")
        state = query["state"][0]
        # The state is also in a cookie (Secure, so a plain-http client must be handed it).
        cookie = page.headers["set-cookie"].split(";")[0]
        assert state in cookie
        done = browser.get("/slack/oauth_redirect", params={"code": "abc", "state": state}, headers={"cookie": cookie})
        assert done.status_code in (200, 302, 303), done.text
        again = browser.get("/slack/oauth_redirect", params={"code": "abc", "state": state}, headers={"cookie": cookie})
        assert again.status_code >= 400 or "error" in again.text.lower()  # a state is good once
    assert slack_api.called("oauth.v2.access", code="abc")
    with gateway_state.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT team_id, bot_token FROM slack_bots").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("T0001", "xoxb-installed-abc")]

    # Events of that workspace are now answered with the installed token.
    sender = SlackSender(served.url, SECRET)
    assert sender.event(sender.dm("UALEX", "hello")).status_code == 200
    posted = slack_api.wait_for("users.info")
    assert posted[0].token == "xoxb-installed-abc"


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_socket_mode_receives_acks_and_passes_events_on(gateway, slack_api):
    socket = slack_api.enable_socket_mode()
    served, rasa = gateway(slack_signing_secret="", slack_app_token="xapp-1-test")
    assert socket.connected.wait(10), "the gateway did not open the Socket Mode connection"
    assert slack_api.called("apps.connections.open")[0].token == "xapp-1-test"
    # No HTTP events route without a signing secret: Socket Mode only.
    assert httpx.post(served.url + "/slack/events", content=b"{}").status_code in (404, 405)

    sender = SlackSender(served.url, SECRET)
    body = json.loads(sender.event_body(sender.dm("UALEX", "what do we owe?"), event_id="EvSOCKET1"))
    first = socket.send(body)
    again = socket.send(body)  # Slack redelivers over the socket too: same event_id
    assert socket.wait_ack(first) and socket.wait_ack(again)
    wait_until(lambda: len(rasa.calls) >= 1)
    slack_api.quiet(0.5)
    assert [c["message"] for c in rasa.calls] == ["what do we owe?"]
    assert rasa.calls[0]["metadata"]["identity"]["email"] == "alex@acme.example"


def test_a_file_gets_a_polite_no_and_nothing_reaches_rasa(gateway, slack_api):
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    sender.event(sender.dm("UALEX", "", subtype="file_share", files=[{"id": "F1", "name": "po.pdf"}]))
    posted = slack_api.wait_for("chat.postMessage")
    slack_api.quiet(0.5)
    assert len(posted) == 1 and "can't read files" in posted[0].args["text"] and posted[0].args["channel"] == "DUALEX"
    assert rasa.calls == []


def test_buttons_posted_for_someone_else_are_theirs(gateway, slack_api):
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    message = {
        "ts": "1700000000.000100",
        "thread_ts": "1700000000.000001",
        "text": "Which product?",
        "blocks": [
            {
                "type": "actions",
                "block_id": "rasa:UALEX:0",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "rasa_button_0",
                        "value": '/inform{"product":"enterprise"}',
                        "text": {"type": "plain_text", "text": "Enterprise"},
                    }
                ],
            }
        ],
    }
    assert sender.click("USAM", "CGENERAL", message, "Enterprise").status_code == 200
    told = slack_api.wait_for("chat.postEphemeral")[0]
    slack_api.quiet(0.5)
    assert told.args["user"] == "USAM" and "<@UALEX>" in told.args["text"]
    assert rasa.calls == [] and slack_api.called("chat.update") == []


def test_every_subscribed_event_is_acknowledged(gateway):
    """Bolt answers 404 to events no listener takes, and Slack retries those: each event of the
    manifest must get a 200."""
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    for event in (
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}},
        {"type": "app_home_opened", "user": "UALEX", "tab": "messages"},
        sender.dm("UALEX", "", subtype="message_changed"),
    ):
        assert sender.event(event).status_code == 200, event


def test_empty_oauth_variables_do_not_turn_on_bolts_own_oauth(gateway, slack_api, monkeypatch):
    # Bolt switches to OAuth with file-based stores when these exist at all, even empty.
    monkeypatch.setenv("SLACK_CLIENT_ID", "")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "")
    served, rasa = gateway()
    sender = SlackSender(served.url, SECRET)
    assert sender.event(sender.dm("UALEX", "hello")).status_code == 200
    assert slack_api.wait_for("users.info")[0].token == "xoxb-test"
    wait_until(lambda: len(rasa.calls) == 1)
