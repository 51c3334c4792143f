"""Events: create, change, read and list; the calendar query lives in ``calendar.py``.

Rules kept here:
- ``ends_at`` is optional (a call is a moment) and never before ``starts_at``.
- ``remind_at`` is never after ``starts_at``: a reminder is for something coming.
  A reminder already in the past is accepted and fires at the worker's next pass
  (e.g. "remind me now about the call in 5 minutes"); only planned events fire.
- Changing ``remind_at`` clears ``reminded_at``, so a moved reminder fires again.
- State: planned → completed | cancelled, and back to planned; completed ↔ cancelled
  directly is refused (reopen first), so a finished call is never silently "cancelled".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import actor_of, now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.events.calendar import overlaps
from crm_core.events.common import aware, check_links, enum_value, require_employee
from crm_core.history import list_history
from crm_core.lookup import get_or_404
from crm_core.models import (
    Direction,
    Event,
    EventKind,
    EventState,
    HistoryEntry,
    Importance,
)
from crm_core.outbox import emit

SUBJECT_MAX = 300
LINKS = ("customer_id", "lead_id", "order_id", "contact_person_id")
_STATE_MOVES = {
    EventState.PLANNED: {EventState.COMPLETED, EventState.CANCELLED},
    EventState.COMPLETED: {EventState.PLANNED},
    EventState.CANCELLED: {EventState.PLANNED},
}


def _subject(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > SUBJECT_MAX:
        raise ValidationFailed(f"Subject is longer than {SUBJECT_MAX} characters", field="subject")
    return value


def _check_times(starts_at: datetime, ends_at: datetime | None, remind_at: datetime | None) -> None:
    if ends_at is not None and ends_at < starts_at:
        raise ValidationFailed("The end must not be before the start", field="ends_at")
    if remind_at is not None and remind_at > starts_at:
        raise ValidationFailed("A reminder must not be after the start", field="remind_at")


async def create_event(
    session: AsyncSession,
    *,
    kind: EventKind | str,
    subject: str | None = "",
    body: str | None = None,
    state: EventState | str = EventState.PLANNED,
    importance: Importance | str = Importance.NORMAL,
    direction: Direction | str | None = None,
    data: dict[str, Any] | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    employee_id: int | None = None,
    customer_id: int | None = None,
    lead_id: int | None = None,
    order_id: int | None = None,
    contact_person_id: int | None = None,
    remind_at: datetime | None = None,
) -> Event:
    """Put an event on an employee's calendar (default: the acting employee's)."""
    at = now(session)
    actor = actor_of(session)
    employee_id = employee_id if employee_id is not None else actor.employee_id
    await require_employee(session, employee_id, "employee_id")
    links = await check_links(
        session,
        {
            "customer_id": customer_id,
            "lead_id": lead_id,
            "order_id": order_id,
            "contact_person_id": contact_person_id,
        },
    )
    event = Event(
        kind=enum_value(EventKind, kind, "kind"),
        state=enum_value(EventState, state, "state"),
        importance=enum_value(Importance, importance, "importance"),
        direction=enum_value(Direction, direction, "direction") if direction else None,
        subject=_subject(subject),
        body=body,
        data=data,
        starts_at=aware(starts_at, "starts_at") or at,
        ends_at=aware(ends_at, "ends_at"),
        remind_at=aware(remind_at, "remind_at"),
        employee_id=employee_id,
        author_id=actor.employee_id,
        created_at=at,
        updated_at=at,
        **links,
    )
    _check_times(event.starts_at, event.ends_at, event.remind_at)
    session.add(event)
    await session.flush()
    emit(
        session,
        "event.created",
        {
            "event_id": event.id,
            "kind": event.kind,
            "employee_id": event.employee_id,
            "customer_id": event.customer_id,
            "lead_id": event.lead_id,
            "starts_at": event.starts_at,
            "subject": event.subject,
        },
    )
    return event


async def get_event(session: AsyncSession, event_id: int) -> Event:
    """One event, or NotFound."""
    return await get_or_404(session, Event, event_id, what="Event")


def _set_state(event: Event, value: EventState | str | None) -> None:
    to = enum_value(EventState, value or "", "state")
    if to == event.state:
        return
    if to not in _STATE_MOVES[event.state]:
        raise Conflict(
            f"Event {event.id} is {event.state.value}; it cannot become {to.value}", field="state"
        )
    event.state = to


async def update_event(session: AsyncSession, event_id: int, **changes: Any) -> Event:
    """Change an event (a patch: only the given fields); None clears an optional field."""
    # The row lock (PostgreSQL; SQLite writers are serialised anyway) makes the
    # state check and the change one step: two managers cannot both complete it.
    event = await get_or_404(session, Event, event_id, what="Event", for_update=True)
    unknown = set(changes) - {
        "kind",
        "state",
        "importance",
        "direction",
        "subject",
        "body",
        "data",
        "starts_at",
        "ends_at",
        "employee_id",
        "remind_at",
        *LINKS,
    }
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    for name in ("kind", "importance", "starts_at"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be empty", field=name)
    # Check the times as they will be before touching the object.
    times = {
        name: aware(changes[name], name) if name in changes else getattr(event, name)
        for name in ("starts_at", "ends_at", "remind_at")
    }
    _check_times(**times)
    if "state" in changes:
        _set_state(event, changes["state"])
    if "kind" in changes:
        event.kind = enum_value(EventKind, changes["kind"], "kind")
    if "importance" in changes:
        event.importance = enum_value(Importance, changes["importance"], "importance")
    if "direction" in changes:
        d = changes["direction"]
        event.direction = enum_value(Direction, d, "direction") if d else None
    if "subject" in changes:
        event.subject = _subject(changes["subject"])
    for name in ("body", "data"):
        if name in changes:
            setattr(event, name, changes[name])
    event.starts_at, event.ends_at = times["starts_at"], times["ends_at"]
    if times["remind_at"] != event.remind_at:
        event.remind_at = times["remind_at"]
        event.reminded_at = None
    if "employee_id" in changes:
        await require_employee(session, changes["employee_id"], "employee_id")
        event.employee_id = changes["employee_id"]
    if any(name in changes for name in LINKS):
        merged = {name: changes.get(name, getattr(event, name)) for name in LINKS}
        new_customer = changes.get("customer_id", event.customer_id) != event.customer_id
        if new_customer and "contact_person_id" not in changes:
            # A new customer drops the old customer's contact person.
            merged["contact_person_id"] = None
        for name, value in (await check_links(session, merged)).items():
            setattr(event, name, value)
    event.updated_at = now(session)
    await session.flush()
    return event


async def list_events(
    session: AsyncSession,
    *,
    employee_id: int | None = None,
    customer_id: int | None = None,
    lead_id: int | None = None,
    order_id: int | None = None,
    kind: EventKind | str | None = None,
    state: EventState | str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Event], int]:
    """Events by link, kind, state and time range (those overlapping [from, to)), by start."""
    conditions = []
    for column, value in (
        (Event.employee_id, employee_id),
        (Event.customer_id, customer_id),
        (Event.lead_id, lead_id),
        (Event.order_id, order_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if kind is not None:
        conditions.append(Event.kind == enum_value(EventKind, kind, "kind"))
    if state is not None:
        conditions.append(Event.state == enum_value(EventState, state, "state"))
    if date_from is not None or date_to is not None:
        conditions.append(overlaps(aware(date_from, "date_from"), aware(date_to, "date_to")))
    total = await session.scalar(select(func.count(Event.id)).where(*conditions))
    rows = await session.scalars(
        select(Event)
        .where(*conditions)
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def event_history(
    session: AsyncSession, event_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """The recorded changes of one event, oldest first."""
    await get_or_404(session, Event, event_id, what="Event")
    total = await session.scalar(
        select(func.count(HistoryEntry.id)).where(
            HistoryEntry.entity_type == "event", HistoryEntry.entity_id == event_id
        )
    )
    items = await list_history(
        session, entity_type="event", entity_id=event_id, limit=limit, offset=offset
    )
    return items, total or 0
