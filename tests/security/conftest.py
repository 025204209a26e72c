"""Security tests (issue 17's review, one module per finding): each attacks the real stack the way
the outside review did and asserts the attack changes nothing. They reuse the end-to-end fixtures:
the session's stack (billing, action server, Rasa with the trained model, gateway) and ``chat``."""
from __future__ import annotations

from tests.e2e.conftest import billing_db, chat, stack  # noqa: F401 - fixtures shared with tests/e2e
