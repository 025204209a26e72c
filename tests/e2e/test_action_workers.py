"""The action server's /metrics with several Sanic workers (``ACTION_SERVER_SANIC_WORKERS``): in
prometheus_client's multiprocess mode one scrape sums every worker's counts; without the shared
directory the server refuses to start rather than serve one worker's counts as the whole."""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest

from bot.launch.runner import RASA_PY, ROOT, Service, free_port
from tests.e2e.scrape import scrape, value

TOKEN = "dev-action-server-token"
CALLS = 12


def action_server(tmp_path, **env: str) -> tuple[list[str], dict[str, str], int, int]:
    port, metrics = free_port(), free_port()
    environ = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    environ.update(
        {
            "PYTHONPATH": str(ROOT),
            "APP_ENV": "development",
            "ACTION_SERVER_TOKEN": TOKEN,
            "ACTION_SERVER_SANIC_WORKERS": "2",
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(metrics),
            "LOG_FORMAT": "json",
            **env,
        }
    )
    argv = [str(RASA_PY), "-m", "bot.actions", "--host", "127.0.0.1", "--port", str(port)]
    return argv, environ, port, metrics


def thanks(request_id: str) -> dict:
    """Rasa's call of action_you_are_welcome after a "thanks" (no billing call)."""
    user = {"event": "user", "text": "thanks", "metadata": {"request_id": request_id, "channel": "widget"}}
    tracker = {
        "sender_id": "ops-workers",
        "slots": {},
        "latest_message": {"text": "thanks", "intent": {"name": "thank_you"}, "entities": []},
        "events": [user],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": "action_you_are_welcome", "sender_id": "ops-workers", "tracker": tracker, "domain": {}}


def test_two_workers_without_a_shared_directory_are_refused(tmp_path):
    argv, env, _port, _metrics = action_server(tmp_path)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "PROMETHEUS_MULTIPROC_DIR" in done.stderr, done.stderr[-2000:]


def test_two_workers_count_into_one_scrape(tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_stale.db").write_bytes(b"left by an earlier run")  # emptied at start
    argv, env, port, metrics = action_server(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(shared))
    server = Service("actions-workers", argv, env, f"http://127.0.0.1:{port}/health", tmp_path / "actions.log")
    server.start()
    try:
        server.wait_ready(120)
        assert not (shared / "counter_stale.db").exists()
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
            for i in range(CALLS):
                # a new connection each time, so the kernel spreads them over the workers
                answer = client.post(
                    f"http://127.0.0.1:{port}/webhook",
                    json=thanks(f"ops-worker-{i:04d}"),
                    headers={"Connection": "close"},
                )
                assert answer.status_code == 200, answer.text
        samples = scrape(f"http://127.0.0.1:{metrics}/metrics")
        assert value(samples, "assistant_actions_total", action="action_you_are_welcome", outcome="ok") == CALLS
        pids = {p.name.rsplit("_", 1)[-1] for p in shared.glob("counter_*.db")}
        if len(pids) < 2:
            pytest.skip("the kernel gave every call to one worker; the sum is not shown to span workers")
        logged = (tmp_path / "actions.log").read_text()
        assert '"request_id": "ops-worker-0000"' in logged
    finally:
        server.stop()
