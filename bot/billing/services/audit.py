"""The audit log: one entry per mutation, written in the mutation's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..adapters.orm import AuditEntry
from .access import Actor


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: str | int,
    org_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor.label,
            caller=actor.caller,
            org_id=org_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            channel=actor.channel,
            before=before,
            after=after,
        )
    )
