"""Copy a slot the way ``copy.copy`` does, without the generic machinery.

What: ``Slot`` gets a ``__copy__`` that makes a new object with the same ``__dict__``.
Why: every tracker Rasa builds (reading one, and again for each prediction's state history)
copies each of the domain's slots with ``copy.copy``, which goes through ``__reduce_ex__``.
Test: tests/rasa_env/test_rasa_speed.py (test_slots_copy_as_copy_copy_copied_them).
"""

from __future__ import annotations

SPEED = True


def apply() -> None:
    from rasa.shared.core.slots import Slot

    if "__copy__" in Slot.__dict__:
        return

    def __copy__(self: Slot) -> Slot:
        # what copy.copy does for a plain object (copyreg's __reduce_ex__, then _reconstruct)
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)
        return new

    Slot.__copy__ = __copy__
