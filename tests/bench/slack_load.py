"""Slack load figures for ``make bench``: how fast the gateway acks, and how long a billing turn
takes from Slack's event to the last reply posted.

The whole assistant runs (``bot.launch.runner.Stack``: billing, actions, Rasa, the gateway with Slack on),
against the local Slack API mock (``tests.slack_mock.SlackMock``); events are signed as Slack signs them.

* ``slack_ack_ms_p50`` / ``slack_ack_ms_p99``: HTTP round trip of each of a burst of 200 signed
  message events (20 users, 10 messages each, 20 at a time), answered while the turns they start
  keep Rasa busy. Slack wants an answer within 3 s; the target is p99 <= 300 ms.
* ``slack_reply_ms_p50`` / ``slack_reply_ms_p95``: one billing turn at a time ("what do we owe?",
  the balance from billing), from sending the event to the mock receiving the turn's last
  chat.postMessage.

    python -m tests.bench.slack_load     # prints the figures (needs a trained model)
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.slack_mock import SlackMock, SlackSender

SECRET = "bench-signing-secret"
BURST, BURST_USERS, BURST_PARALLEL = 200, 20, 20
REPLY_TURNS = 20
QUESTION = "what do we owe?"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def ack_burst(sender: SlackSender) -> list[float]:
    def one(i: int) -> float:
        event = sender.dm(f"UBURST{i % BURST_USERS:02d}", "hello")
        started = time.perf_counter()
        answer = sender.event(event)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"event {i}: HTTP {answer.status_code}")
        return elapsed

    with ThreadPoolExecutor(BURST_PARALLEL) as pool:
        return list(pool.map(one, range(BURST)))


def reply_times(api: SlackMock, sender: SlackSender) -> list[float]:
    times = []
    for _ in range(REPLY_TURNS):
        before = len(api.called("chat.postMessage", channel="DUALEX"))
        started = time.monotonic()  # the mock stamps each call with time.monotonic()
        sender.event(sender.dm("UALEX", QUESTION))
        api.wait_for("chat.postMessage", before + 1, 60, lambda c: c.args.get("channel") == "DUALEX")
        api.quiet(0.5)  # until the turn's last post (a turn may post more than one message)
        last = api.called("chat.postMessage", channel="DUALEX")[-1]
        if "$" not in (last.args.get("text") or ""):
            raise RuntimeError(f"not a balance answer: {last.args.get('text', '')[:200]}")
        times.append((last.at - started) * 1000)
    return times


def run(data_dir: Path | None = None, model: Path | None = None) -> dict[str, float]:
    from bot.launch.runner import MODEL, Stack

    with SlackMock() as api, tempfile.TemporaryDirectory() as tmp:
        api.add_user("UALEX", "alex@acme.example", "Alex Rivera")
        for i in range(BURST_USERS):
            api.add_user(f"UBURST{i:02d}", "alex@acme.example", "Alex Rivera")
        env = {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api.api_url,
            "SLACK_APP_TOKEN": "",
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
        }  # whatever the shell has
        with Stack(data_dir=data_dir or Path(tmp), model=model or MODEL, extra_env=env) as stack:
            sender = SlackSender(stack.gateway_url, SECRET)
            sender.event(sender.dm("UALEX", "hi"))  # warm up: auth.test, users.info, Rasa
            api.wait_for("chat.postMessage", 1, 60)
            acks = ack_burst(sender)
            api.wait_for("chat.postMessage", 1 + BURST, 600)  # let the burst's turns finish
            api.quiet(1.0)
            replies = reply_times(api, sender)
    return {
        "slack_ack_ms_p50": round(statistics.median(acks), 1),
        "slack_ack_ms_p99": round(percentile(acks, 99), 1),
        "slack_reply_ms_p50": round(statistics.median(replies), 1),
        "slack_reply_ms_p95": round(percentile(replies, 95), 1),
    }


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:<20} {value:>8.1f} ms")
