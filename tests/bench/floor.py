"""The floor: the stock bot of `rasa init`, served by `rasa run --enable-api`, measured through its
REST channel exactly as our turns are, and in the same run, in alternation with ours
(tests/bench/turns.py, which registers the `floor` benchmark): one conversation alone, then 20
concurrent ones, with the turns "hello" and "I am sad" (greet -> utter_greet; mood_unhappy ->
utter_cheer_up + utter_did_that_help), alternating in each conversation.

The stock project and its trained model are kept in .bench-cache/floor-rasa-<version>/ (gitignored),
so `make bench` trains it only once per Rasa version (delete that folder to retrain).

Figures: floor_turn_ms_p50/p95 and floor_turns_per_s (alone), floor_turn_concurrent_ms_p50/p95 and
floor_turns_concurrent_per_s (20 conversations at once, the median of the rounds).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.launch.runner import Service, free_port

from .rasa_env import CACHE, RASA, rasa_env, rasa_version, run, tmp_dir
from .turnload import Target

MESSAGES = ["hello", "I am sad"]
INIT_TIMEOUT_S = 900
START_TIMEOUT_S = 240


def floor_model() -> tuple[Path, Path]:
    """(project folder, model) of the stock bot, trained once per Rasa version."""
    project = CACHE / f"floor-rasa-{rasa_version()}"
    model = project / "floor.tar.gz"
    if model.is_file():
        print(f"  stock bot from the cache: {model.relative_to(CACHE.parent)}", flush=True)
        return project, model
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    log = CACHE / f"floor-init-{project.name}.log"
    log.unlink(missing_ok=True)
    print(f"  rasa init --no-prompt in {project.relative_to(CACHE.parent)} (trains the stock bot once) ...", flush=True)
    seconds = run(
        [RASA, "init", "--no-prompt", "--init-dir", project],
        log=log,
        timeout=INIT_TIMEOUT_S,
        cwd=project,
        RASA_CACHE_DIRECTORY=str(tmp_dir("floor-cache-")),
    )
    trained = sorted((project / "models").glob("*.tar.gz"))
    if not trained:
        raise RuntimeError(f"rasa init trained no model; log {log}")
    trained[-1].rename(model)
    print(f"  stock bot trained in {seconds:.0f} s", flush=True)
    return project, model


class RasaServer:
    """`rasa run --enable-api` of a project on a free loopback port: a `bot.launch.runner.Service`, ready
    once /status answers (Rasa answers it only when the model is loaded)."""

    def __init__(self, project: Path, model: Path, log: Path) -> None:
        self.project, self.model, self.log = project, model, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service = Service(
            "rasa (stock bot)",
            [
                str(RASA),
                "run",
                "--enable-api",
                "--model",
                str(model),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
            ],
            rasa_env(),
            f"{self.url}/status",
            log,
            cwd=project,
        )

    def __enter__(self) -> RasaServer:
        self.service.start()
        try:
            self.service.wait_ready(START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.service.stop()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def floor_server() -> Iterator[Target]:
    """The stock bot, trained if need be and served, as a target for tests/bench/turnload.py."""
    project, model = floor_model()
    log = tmp_dir("floor-run-") / "rasa.log"
    print(f"  starting the stock bot (log {log})", flush=True)
    with RasaServer(project, model, log) as server:
        yield Target(
            "stock bot",
            f"{server.url}/webhooks/rest/webhook",
            MESSAGES,
            body=lambda sender, text: {"sender": sender, "message": text},
        )
