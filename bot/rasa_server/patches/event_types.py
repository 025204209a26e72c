"""Find an event's class by its type name in a dict.

What: ``Event.resolve_by_type`` remembers the classes it has found.
Why: reading a tracker turns every stored event back into an object, and Rasa finds each event's
class by walking every subclass of ``Event`` (with ``inspect.isabstract`` on each), every time.
An unknown name still goes through Rasa's lookup and its error.
Test: tests/rasa_env/test_rasa_speed.py (test_event_types_resolve_as_rasa_resolves_them).
"""

from __future__ import annotations

SPEED = True


def apply() -> None:
    from rasa.shared.core.events import Event

    original = Event.__dict__["resolve_by_type"].__func__
    if getattr(original, "_cached", False):
        return
    known: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = known.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and found is not default:
                known[type_name] = found
        return found

    resolve_by_type._cached = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)
