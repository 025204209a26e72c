"""`make train`: `rasa train` on this project, showing only the warnings that say something.

Rasa 3.6 warns about responses "not used in any story or rule" that forms and actions do use, and
about the FAQ's retrieval intent being declared twice (scripts/validate_data.py checks both); those,
and the warnings Rasa's own CLI silences, are counted instead of printed. Every other warning is
printed once at the end, where it is not lost among the training logs.
Run with the Rasa environment's Python from the repository root; the arguments are `rasa train`'s.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter

from validate_data import KnownWarnings, importer


def main(argv: list[str]) -> int:
    from rasa.__main__ import main as rasa_main

    print("training the model (about two to five minutes) ...", flush=True)
    sys.argv = ["rasa", "train", *argv]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rasa_main()
            status = 0
        except SystemExit as done:
            status = int(done.code or 0)
        known = KnownWarnings(importer())  # reading the data warns too: kept with the rest
    shown: Counter[str] = Counter()
    quiet = 0
    for warning in caught:
        if known.expected(warning) or known.false_positive(warning):
            quiet += 1
        else:
            shown[f"{warning.category.__name__}: {str(warning.message).strip()}"] += 1
    for text, times in shown.items():
        print(f"WARNING: {text}" + (f" (x{times})" if times > 1 else ""))
    print(f"train: {sum(shown.values())} warning(s) shown; {quiet} expected or checked false positive(s) not shown")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
