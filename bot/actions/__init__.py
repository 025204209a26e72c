"""Custom actions, one module per topic. `rasa run actions --actions bot.actions` imports this
package; each topic module registers its actions by subclassing rasa_sdk's Action."""

from __future__ import annotations

import importlib
import pkgutil

from bot.nlu.cards import redact_logs

# The action server's log lines (billing's errors, tracebacks) hold no card number either.
redact_logs()

# Import every topic module so its actions register with the action server.
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
