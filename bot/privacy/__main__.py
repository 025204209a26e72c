"""`python -m bot.privacy retention`: the retention job (retention.py)."""

from __future__ import annotations

import sys

from .retention import main

if __name__ == "__main__":
    sys.exit(main())
