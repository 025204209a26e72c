"""What operators see of a real turn (docs/operations.md), against the session's stack (its
services log JSON lines, as in production): the counters move on the real /metrics endpoints, the
endpoints hold no customer data and are not on the public ports, and one request id follows a
customer's "yes" through the gateway, Rasa, the action server and billing."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx

from bot.launch.runner import free_port
from tests.conftest import reset
from tests.e2e.gateways import slack_gateway
from tests.e2e.scrape import moved, scrape
from tests.e2e.widget_client import WidgetClient, signed_in

ALEX = "alex@acme.example"
# Every label the three endpoints may carry: closed sets, never a person, an org or text.
LABELS = {"channel", "outcome", "intent", "reason", "route", "method", "status", "code", "action", "kind"}
LABELS |= {"answer", "queue", "le", "quantile"}
LABELS |= {"value"}  # assistant_ratings_total: offered, helpful, not_helpful, dismissed
# prometheus_client's own: the Python version (python_info) and the garbage collector's generation
LABELS |= {"implementation", "major", "minor", "patchlevel", "version", "generation"}


class LogTail:
    """The JSON lines a service's log gets from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size

    def lines(self) -> list[dict]:
        with open(self.path, "rb") as log:
            log.seek(self.start)
            new = log.read().decode(errors="replace").splitlines()
        found = []
        for line in new:
            line = line.strip()
            if line.startswith("{"):
                found.append(json.loads(line))
        return found


async def order_licenses(gateway_url: str) -> tuple[list[str], list[str]]:
    async with WidgetClient(gateway_url, signed_in(ALEX), turn_timeout=60) as widget:
        quote = await widget.say("add 5 licenses")
        done = await widget.say("yes")
    return quote, done


def test_a_widget_order_moves_the_counters_and_one_request_id_follows_the_yes(stack, billing_db):
    reset(billing_db)
    urls = {name: stack.metrics_url(name) for name in ("gateway", "actions", "billing")}
    before = {name: scrape(url) for name, url in urls.items()}
    logs = stack.data_dir / "logs"

    async def quote_then_yes() -> tuple[list[str], list[str], dict[str, LogTail]]:
        async with WidgetClient(stack.gateway_url, signed_in(ALEX), turn_timeout=60) as widget:
            quote = await widget.say("add 5 licenses")
            tails = {name: LogTail(logs / f"{name}.log") for name in ("gateway", "rasa", "actions", "billing")}
            done = await widget.say("yes")
        return quote, done, tails

    quote, done, tails = asyncio.run(quote_then_yes())
    assert "5" in "\n".join(quote) and re.search(r"order", "\n".join(done), re.I), (quote, done)
    after = {name: scrape(url) for name, url in urls.items()}

    gw, actions = (before["gateway"], after["gateway"]), (before["actions"], after["actions"])
    assert moved(*gw, "assistant_turns_total", channel="widget", outcome="answered") == 2
    assert moved(*gw, "assistant_turn_seconds_count", channel="widget") == 2
    assert moved(*gw, "assistant_intents_total", channel="widget", intent="add_licenses") == 1
    assert moved(*gw, "assistant_intents_total", channel="widget", intent="affirm") == 1
    assert moved(*gw, "assistant_widget_connections_opened_total") == 1
    assert moved(*actions, "assistant_orders_total", channel="widget") == 1
    assert moved(*actions, "assistant_confirmations_total", kind="quote", answer="yes") == 1
    assert moved(*actions, "assistant_actions_total", action="action_confirm", outcome="ok") == 1
    billing = (before["billing"], after["billing"])
    placed = [k for k in after["billing"] if k[0] == "billing_requests_total" and ("route", "/v1/orders") in k[1]]
    assert placed and sum(moved(*billing, name, **dict(labels)) for name, labels in placed) == 1

    # The "yes": the gateway's turn line names its id; Rasa, the action server and billing log it.
    (turn,) = [line for line in tails["gateway"].lines() if line["message"].startswith("turn for ")]
    assert turn["service"] == "gateway" and "intent affirm" in turn["message"]
    rid = turn["request_id"]
    for name in ("rasa", "actions", "billing"):
        lines = [line for line in tails[name].lines() if line.get("request_id") == rid]
        assert lines, f"{name}: no line with the turn's request id {rid}"
        assert all(line["service"] == name and line["level"] for line in lines)
    assert any(
        "POST /v1/orders" in line["message"] for line in tails["billing"].lines() if line.get("request_id") == rid
    )
    assert any(
        "action_confirm" in line["message"] for line in tails["actions"].lines() if line.get("request_id") == rid
    )


def test_the_metrics_hold_no_customer_data_and_are_not_on_the_public_ports(stack, billing_db):
    reset(billing_db)
    quote, done = asyncio.run(order_licenses(stack.gateway_url))
    numbers = set(re.findall(r"\b[A-Z]{1,4}-\d{3,}\b", "\n".join(quote + done)))  # the quote's and order's
    assert numbers, (quote, done)
    for name in ("gateway", "actions", "billing"):
        text = httpx.get(stack.metrics_url(name), timeout=5).text
        samples = scrape(stack.metrics_url(name))
        assert samples, name
        names = {label for _sample, labels in samples for label, _ in labels}
        assert names <= LABELS, (name, names - LABELS)
        for needle in ("@", "acme", "alex", "wu-", "inv-"):  # emails, the org, the user, sender ids, invoices
            assert needle not in text.lower(), (name, needle)
        assert not any(number in text for number in numbers), name
    for public in (stack.gateway_url, stack.billing_url):
        assert httpx.get(f"{public}/metrics", timeout=5).status_code == 404, public


def test_a_slack_retry_is_counted_and_its_turn_runs_once_with_one_request_id(stack, billing_db, tmp_path):
    reset(billing_db)
    port = free_port()
    metrics = f"http://127.0.0.1:{port}/metrics"
    users = {"UALEX": (ALEX, "Alex Rivera")}
    with slack_gateway(stack, tmp_path, users, METRICS_HOST="127.0.0.1", METRICS_PORT=str(port)) as slack:
        before, rasa_log = scrape(metrics), LogTail(stack.data_dir / "logs" / "rasa.log")
        gateway_log = LogTail(slack.gateway.log_path)
        event = slack.send.dm("UALEX", "how much is Enterprise for 40 users?")
        assert slack.send.event(event, event_id="EvOPS0001").status_code == 200
        assert slack.send.event(event, event_id="EvOPS0001", retry=1).status_code == 200  # Slack's redelivery
        slack.api.wait_for("chat.postMessage", 1, 60, lambda c: c.args.get("channel") == "DUALEX")
        slack.api.quiet(1.5)
        after = scrape(metrics)
        turns = [line for line in gateway_log.lines() if line["message"].startswith("turn for slack:")]
    assert moved(before, after, "assistant_slack_retries_total", reason="http_timeout") == 1
    assert moved(before, after, "assistant_turns_total", channel="slack", outcome="answered") == 1
    assert moved(before, after, "assistant_turn_seconds_count", channel="slack") == 1
    (turn,) = turns
    assert any(line.get("request_id") == turn["request_id"] for line in rasa_log.lines())
