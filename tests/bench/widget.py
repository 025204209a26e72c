"""The website widget, measured in Debian's Chromium (headless, driven by Playwright) against a
real stack (billing, action server, Rasa with this run's model, gateway) on free ports.

Figures:
* widget_js_gzip_bytes: /widget.js as served with Content-Encoding gzip (the budget is 20 KB);
* widget_ready_ms: median of 5 fresh page loads of the signed-in demo page (/account), from the
  navigation's start to the widget's ``account-assistant:ready`` event: script loaded, shadow DOM
  built, WebSocket open, JWT verified, history received;
* widget_turn_ms_p50 / _p95: a visitor's pricing question, from the send to the bot's reply being
  rendered in the page (timed inside the page), 20 turns after 2 warm-up turns, one at a time.
  The answers come from billing's estimate ("how much is Enterprise for 40 users?").

Set BENCH_MODEL=models/account-assistant.tar.gz to reuse a trained model when the `train`
benchmark is not part of the run.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import httpx

from bot.launch.runner import Stack

from . import BenchFailed, Figures, benchmark
from .rasa_env import our_model, tmp_dir
from .stats import p50_p95

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY_RUNS = 5
WARMUP_TURNS, TURNS = 2, 20
QUESTIONS = ["how much is Enterprise for 40 users?", "how much is Professional for 10 users?"]
EXPECTED = ["$6,600.00", "$800.00"]

# Installed before any page script: the time (ms since the navigation started) the widget said ready.
READY_PROBE = "window.addEventListener('account-assistant:ready', () => { window.__aaReady = performance.now(); });"

# In the page: send one message through the widget's API and resolve with the milliseconds until
# a new bot message is in the DOM and the typing dots are gone.
TURN = """async (text) => {
  const root = document.querySelector('#account-assistant').shadowRoot;
  const count = () => root.querySelectorAll('.row.bot[data-seq], .row.agent[data-seq]').length;
  const before = count();
  const started = performance.now();
  window.AccountAssistant.send(text);
  return await new Promise((resolve, reject) => {
    const done = () => count() > before && root.querySelector('.typing').hidden;
    const observer = new MutationObserver(() => {
      if (done()) {
        observer.disconnect(); clearTimeout(timer);
        const rows = root.querySelectorAll('.row.bot[data-seq]');
        resolve({ms: performance.now() - started, text: rows[rows.length - 1].innerText});
      }
    });
    observer.observe(root, {childList: true, subtree: true, attributes: true, attributeFilter: ['hidden']});
    const timer = setTimeout(() => { observer.disconnect(); reject(new Error('no reply in 30 s')); }, 30000);
  });
}"""


def _gzip_bytes(stack: Stack) -> int:
    answer = httpx.get(f"{stack.gateway_url}/widget.js", headers={"Accept-Encoding": "gzip"}, timeout=10)
    answer.raise_for_status()
    if answer.headers.get("content-encoding") != "gzip":
        raise RuntimeError("widget.js was not served gzipped")
    return int(answer.headers.get("content-length") or len(answer.content))


def _ready_ms(browser, base: str) -> list[float]:
    samples = []
    for _ in range(READY_RUNS):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.add_init_script(READY_PROBE)
            page.goto(f"{base}/account")
            page.wait_for_function("() => window.__aaReady !== undefined", timeout=30_000)
            samples.append(page.evaluate("() => window.__aaReady"))
        finally:
            context.close()
    return samples


def _turn_ms(browser, base: str) -> tuple[list[float], list[str]]:
    context = browser.new_context()
    samples, problems = [], []
    try:
        page = context.new_page()
        page.goto(f"{base}/")
        page.wait_for_selector("#account-assistant[data-state=ready]", state="attached", timeout=30_000)
        page.evaluate("() => window.AccountAssistant.open()")
        for i in range(WARMUP_TURNS + TURNS):
            result = page.evaluate(TURN, QUESTIONS[i % 2])
            if EXPECTED[i % 2] not in result["text"]:
                problems.append(f"turn {i}: unexpected answer {result['text'][:160]!r}")
            elif i >= WARMUP_TURNS:
                samples.append(result["ms"])
    finally:
        context.close()
    return samples, problems


@benchmark("widget")
def run() -> Figures:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError("no /usr/bin/chromium (apt-get install chromium chromium-driver)")
    model = our_model()
    data = tmp_dir("widget-")
    print(f"  starting the stack (model {model.name}) and Chromium", flush=True)
    # Generous limits: the bench sends 22 messages in a row from one visitor and address.
    extra = {"WIDGET_RATE_PER_VISITOR": "600", "WIDGET_RATE_PER_IP": "600", "WIDGET_CONNECTS_PER_IP": "600"}
    with Stack(data_dir=data, model=model, extra_env=extra) as stack, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            figures: Figures = {"widget_js_gzip_bytes": _gzip_bytes(stack)}
            ready = _ready_ms(browser, stack.gateway_url)
            figures["widget_ready_ms"] = round(statistics.median(ready), 1)
            print(f"  ready: {', '.join(f'{x:.0f}' for x in ready)} ms", flush=True)
            turns, problems = _turn_ms(browser, stack.gateway_url)
            figures.update(p50_p95("widget_turn_ms", turns))
        finally:
            browser.close()
    if figures["widget_js_gzip_bytes"] > 20_000:
        problems.append(f"widget.js is {figures['widget_js_gzip_bytes']} bytes gzipped, over the 20 KB budget")
    if problems:
        raise BenchFailed("; ".join(problems), figures)
    return figures
