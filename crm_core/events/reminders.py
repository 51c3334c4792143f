"""Due reminders of events and tasks, claimed so each fires exactly once.

A reminder is due when ``remind_at <= now`` and ``reminded_at IS NULL``, for a
planned event or an open task. Claiming is a conditional
``UPDATE ... SET reminded_at = now WHERE id IN (...) AND reminded_at IS NULL``:
of two workers racing for the same rows, the database gives each row to one of
them (on PostgreSQL the loser's UPDATE waits for the winner's row lock, re-checks
the condition and skips the row; on SQLite writers are serialised). The worker
claims and sends in one transaction, so a crash before commit leaves it due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core import context
from crm_core.models import Event, EventState, Task, TaskState

Kind = Literal["event", "task"]


@dataclass(frozen=True, slots=True)
class Reminder:
    """What a notifier needs to remind someone, without another query."""

    kind: Kind
    id: int
    employee_id: int | None
    subject: str
    remind_at: datetime
    at: datetime | None  # the event's start or the task's due time
    customer_id: int | None
    lead_id: int | None
    order_id: int | None


def _event_due(now: datetime):
    return (
        Event.remind_at <= now,
        Event.reminded_at.is_(None),
        Event.state == EventState.PLANNED,
    )


def _task_due(now: datetime):
    return Task.remind_at <= now, Task.reminded_at.is_(None), Task.state == TaskState.OPEN


async def due_reminders(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 100
) -> list[Reminder]:
    """Reminders due at ``now`` not yet sent, oldest first (events and tasks together)."""
    at = now or context.now(session)
    events = await session.execute(
        select(
            Event.id,
            Event.employee_id,
            Event.subject,
            Event.remind_at,
            Event.starts_at,
            Event.customer_id,
            Event.lead_id,
            Event.order_id,
        )
        .where(*_event_due(at))
        .order_by(Event.remind_at, Event.id)
        .limit(limit)
    )
    tasks = await session.execute(
        select(
            Task.id,
            Task.assignee_id,
            Task.subject,
            Task.remind_at,
            Task.due_at,
            Task.customer_id,
            Task.lead_id,
            Task.order_id,
        )
        .where(*_task_due(at))
        .order_by(Task.remind_at, Task.id)
        .limit(limit)
    )
    found = [Reminder("event", *row) for row in events] + [Reminder("task", *row) for row in tasks]
    found.sort(key=lambda r: (r.remind_at, r.kind, r.id))
    return found[:limit]


async def mark_reminded(
    session: AsyncSession, *, kind: Kind, ids: Sequence[int], now: datetime | None = None
) -> set[int]:
    """Claim these reminders as sent; returns the ids this call won (others were taken)."""
    if not ids:
        return set()
    at = now or context.now(session)
    model = Event if kind == "event" else Task
    result = await session.execute(
        update(model)
        .where(model.id.in_(list(ids)), model.reminded_at.is_(None))
        .values(reminded_at=at)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return {row[0] for row in result}


async def claim_reminders(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 100
) -> list[Reminder]:
    """Due reminders, each marked sent by this call; a racing caller never gets the same."""
    at = now or context.now(session)
    due = await due_reminders(session, now=at, limit=limit)
    won: set[tuple[str, int]] = set()
    for kind in ("event", "task"):
        ids = [r.id for r in due if r.kind == kind]
        won |= {(kind, i) for i in await mark_reminded(session, kind=kind, ids=ids, now=at)}
    return [r for r in due if (r.kind, r.id) in won]
