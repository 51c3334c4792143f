from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from crm_core.context import actor_of, now
from crm_core.jsonable import jsonable
from crm_core.models import Customer, Event, HistoryEntry, Lead, Order, Task

# entity type name -> model; the columns never worth a history line are skipped.
TRACKED: dict[str, type] = {
    "lead": Lead,
    "customer": Customer,
    "order": Order,
    "event": Event,
    "task": Task,
}
_ENTITY_OF = {model: name for name, model in TRACKED.items()}
_SKIP = {"id", "created_at", "updated_at", "category"}


def _column_changes(obj: Any, *, created: bool) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _SKIP:
            continue
        if created:
            value = getattr(obj, key)
            if value is not None:
                changes[key] = [None, jsonable(value)]
            continue
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old != new:
            changes[key] = [jsonable(old), jsonable(new)]
    return changes


@event.listens_for(Session, "after_flush")
def _record(session: Session, _flush_context) -> None:
    rows: list[dict[str, Any]] = []
    groups = (("created", session.new), ("updated", session.dirty), ("deleted", session.deleted))
    for action, objects in groups:
        for obj in objects:
            entity = _ENTITY_OF.get(type(obj))
            if entity is None:
                continue
            if action == "deleted":
                changes: dict[str, list[Any]] = {}
            else:
                changes = _column_changes(obj, created=action == "created")
                if not changes:
                    continue
            rows.append(
                {"entity_type": entity, "entity_id": obj.id, "action": action, "changes": changes}
            )
    if not rows:
        return
    actor = actor_of(session)
    at = now(session)
    for row in rows:
        row.update(actor_kind=actor.kind.value, actor_id=actor.id, actor_label=actor.label, at=at)
    session.connection().execute(insert(HistoryEntry.__table__), rows)


async def list_history(
    session: AsyncSession, *, entity_type: str, entity_id: int, limit: int = 100, offset: int = 0
) -> list[HistoryEntry]:
    """The changes of one object, oldest first."""
    result = await session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.entity_type == entity_type, HistoryEntry.entity_id == entity_id)
        .order_by(HistoryEntry.id)
        .limit(limit)
        .offset(offset)
    )
    return list(result)
