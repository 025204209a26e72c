"""The human handoff's live relay, measured end to end: from a rep's reply in the Slack thread to the
message rendered in the visitor's widget.

A real stack (billing, action server, Rasa with this run's model, gateway) with Slack on against
the local Web API mock and the sales queue open around the clock. A visitor in Debian's Chromium
(headless, driven by Playwright) asks the widget for sales and leaves their details (real Rasa
turns); the summary reaches the mock's #sales; a rep claims it (a signed click). Then, one at a
time, the rep replies in the thread: a signed ``message`` event POSTed to the gateway's
/slack/events, the clock started just before the request is sent, stopped by the page when the
reply's row is in the widget's DOM (both sides read the same wall clock: the page's
``performance.timeOrigin + performance.now()``).

Figures: handoff_relay_ms_p50 / _p95 over SAMPLES replies (after WARMUP), bounded by BUDGET_S:
what is measured by then is reported, and fewer than MIN_SAMPLES fails the benchmark.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from bot.launch.runner import Stack
from tests.slack_mock import SlackMock, SlackSender, new_ts

from . import BenchFailed, Figures, benchmark
from .rasa_env import our_model, tmp_dir
from .stats import p50_p95
from .widget import CHROMIUM, CHROMIUM_ARGS, TURN

SECRET = "bench-handoff-signing-secret"
WARMUP, SAMPLES, MIN_SAMPLES = 3, 50, 20
BUDGET_S = 180.0  # for the replies (the stack, the lead form and the claim come before)
REPLY_TIMEOUT_MS = 10_000
LEAD = ["I'd like to talk to sales", "Jane Bench", "jane@bench.example", "Bench Corp", "skip"]

# In the page: remember when each "relay-N" reply's row appeared (epoch ms).
WATCH = """() => {
  const root = document.querySelector('#account-assistant').shadowRoot;
  window.__relayed = {};
  const scan = () => {
    for (const row of root.querySelectorAll('.row.agent[data-seq]')) {
      if (row.dataset.benchSeen) continue;
      row.dataset.benchSeen = '1';
      const found = /relay-(\\d+)/.exec(row.innerText);
      if (found) window.__relayed[found[1]] = performance.timeOrigin + performance.now();
    }
  };
  new MutationObserver(scan).observe(root, {childList: true, subtree: true});
  scan();
}"""


def _summary(api: SlackMock) -> dict:
    post = api.wait_for(
        "chat.postMessage",
        timeout=60,
        where=lambda c: c.args.get("channel") == "CSALES" and not c.args.get("thread_ts"),
    )[-1]
    blocks = post.args.get("blocks")
    return {
        "ts": post.ts,
        "text": post.args.get("text"),
        "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks or [],
    }


def _relay_ms(page, slack: SlackSender, thread_ts: str, deadline: float) -> tuple[list[float], list[str]]:
    samples, problems = [], []
    for i in range(WARMUP + SAMPLES):
        if time.monotonic() > deadline:
            problems.append(f"time budget ({BUDGET_S:.0f} s) spent after {len(samples)} samples")
            break
        event = {
            "type": "message",
            "channel": "CSALES",
            "channel_type": "channel",
            "user": "UDANA",
            "text": f"relay-{i}: thanks, checking that for you",
            "ts": new_ts(),
            "thread_ts": thread_ts,
            "team": slack.team,
        }
        body = slack.event_body(event)
        started = time.time() * 1000
        answer = slack.post(body, "application/json")
        if answer.status_code != 200:
            problems.append(f"reply {i}: the gateway answered {answer.status_code}")
            continue
        try:
            page.wait_for_function(f"() => window.__relayed['{i}'] !== undefined", timeout=REPLY_TIMEOUT_MS, polling=5)
        except Exception:
            problems.append(f"reply {i} not shown in the widget within {REPLY_TIMEOUT_MS / 1000:.0f} s")
            continue
        if i >= WARMUP:
            samples.append(page.evaluate(f"() => window.__relayed['{i}']") - started)
    return samples, problems


@benchmark("handoff")
def run() -> Figures:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError("no /usr/bin/chromium (apt-get install chromium chromium-driver)")
    model = our_model()
    data: Path = tmp_dir("handoff-")
    with SlackMock() as api:
        api.add_user("UDANA", "dana@vendor.example", "Dana Scully")
        env = {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api.api_url,
            "SLACK_APP_TOKEN": "",
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            "SLACK_SLOW_TURN_S": "60",
            "HANDOFF_SALES_CHANNEL": "CSALES",
            "HANDOFF_SALES_HOURS": "Mon-Sun 00:00-00:00",
            "HANDOFF_SALES_HOLIDAYS": "",
            "HANDOFF_SLACK_TEAM": "",
            "WIDGET_RATE_PER_VISITOR": "600",
            "WIDGET_RATE_PER_IP": "600",
            "WIDGET_CONNECTS_PER_IP": "600",
        }
        print(f"  starting the stack (model {model.name}), Slack mock and Chromium", flush=True)
        with Stack(data_dir=data, model=model, extra_env=env) as stack, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_context().new_page()
                page.goto(f"{stack.gateway_url}/")
                page.wait_for_selector("#account-assistant[data-state=ready]", state="attached", timeout=30_000)
                page.evaluate("() => window.AccountAssistant.open()")
                said = ""
                for text in LEAD:
                    said = page.evaluate(TURN, text)["text"]  # the widget benchmark's turn: the bot's reply
                if not re.search(r"HO-\d+", said):
                    raise RuntimeError(f"no handoff after the lead form: {said[:200]!r}")
                summary = _summary(api)
                slack = SlackSender(stack.gateway_url, SECRET)
                page.evaluate(WATCH)
                if slack.click("UDANA", "CSALES", summary, "Claim").status_code != 200:
                    raise RuntimeError("the claim was refused")
                page.wait_for_function(
                    """() => [...document.querySelector('#account-assistant').shadowRoot
                    .querySelectorAll('.row.agent')].some(r => r.innerText.includes('joined'))""",
                    timeout=30_000,
                )
                print(f"  claimed {summary['text']}; {SAMPLES} rep replies", flush=True)
                samples, problems = _relay_ms(page, slack, summary["ts"], time.monotonic() + BUDGET_S)
            finally:
                browser.close()
    figures: Figures = {**p50_p95("handoff_relay_ms", samples), "handoff_relay_samples": float(len(samples))}
    if problems or len(samples) < MIN_SAMPLES:
        raise BenchFailed("; ".join(problems) or f"only {len(samples)} samples", figures)
    return figures
