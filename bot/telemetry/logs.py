"""Log lines: JSON in production, one object a line for a log collector; readable text on a laptop
(``make run``, the tests). ``LOG_FORMAT=json|text`` chooses; unset, production (``APP_ENV`` other
than development) gets JSON.

Every line names its service and, when one is bound, the turn's request id (request_ids.py), so one
customer turn can be followed across the gateway, Rasa, the action server and billing. The message
is what the code logged, after ``bot.nlu.cards.redact_logs`` (each service installs it): card
numbers never reach a line, in either format.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from bot.nlu.cards import redact

from . import request_ids

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_format(environ: Mapping[str, str] = os.environ) -> str:
    """``json`` or ``text``: ``LOG_FORMAT``, else JSON unless ``APP_ENV=development``."""
    chosen = environ.get("LOG_FORMAT", "").strip().lower()
    if chosen in FORMATS:
        return chosen
    if chosen:
        raise SystemExit(f"LOG_FORMAT={chosen!r}: say json or text")
    development = environ.get("APP_ENV", "production").strip().lower() == "development"
    return "text" if development else "json"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601 with milliseconds), level, service, logger,
    message, request_id when bound, exception when there is one."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_ids.current()
        if request_id:
            line["request_id"] = request_id
        if record.exc_text:  # redact_logs made it, redacted
            line["exception"] = record.exc_text
        elif record.exc_info:  # a record from elsewhere: redacted here
            line["exception"] = redact(self.formatException(record.exc_info))[0]
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The readable line, with the request id at the end when one is bound."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None) or request_ids.current()
        return f"{text} [{request_id}]" if request_id else text


def formatter(service: str, fmt: str) -> logging.Formatter:
    return JsonFormatter(service) if fmt == "json" else TextFormatter()


def configure(service: str, fmt: str | None = None, level: int = logging.INFO) -> str:
    """The root logger writes to stderr in ``fmt`` (default: ``log_format()``); returns the format.
    Replaces the handlers set before (basicConfig's, a library's)."""
    fmt = fmt or log_format()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(service, fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return fmt
