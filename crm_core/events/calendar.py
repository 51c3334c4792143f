"""The calendar query: what happens on some employees' calendars in a time range.

Ranges are half-open, ``[start, end)``, so consecutive days or weeks tile without
showing an event twice. An event occupies ``[starts_at, ends_at]`` (just the
moment ``starts_at`` when it has no end). It is in the range when the two
intersect: it starts before ``end`` and ends after ``start`` — an event ending
exactly when the range starts is not shown, a moment event at ``start`` is.
Tasks are shown by their due time, ``start <= due_at < end``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import ValidationFailed
from crm_core.events.common import aware
from crm_core.models import Event, EventState, Task, TaskState

MAX_RANGE = timedelta(days=400)
MAX_ITEMS = 2000


def overlaps(start: datetime | None, end: datetime | None) -> ColumnElement[bool]:
    """SQL condition: the event's span intersects ``[start, end)`` (either bound optional)."""
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("The end of the range must be after its start", field="end")
    conditions: list[ColumnElement[bool]] = []
    if end is not None:
        conditions.append(Event.starts_at < end)
    if start is not None:
        finish = func.coalesce(Event.ends_at, Event.starts_at)
        conditions.append(or_(Event.starts_at >= start, finish > start))
    return and_(true(), *conditions)


@dataclass(slots=True)
class CalendarView:
    events: list[Event]
    tasks: list[Task]


async def calendar(
    session: AsyncSession,
    *,
    employee_ids: Sequence[int],
    start: datetime,
    end: datetime,
    include_cancelled: bool = False,
) -> CalendarView:
    """Events overlapping ``[start, end)`` and tasks due in it, for these employees."""
    aware(start, "start")
    aware(end, "end")
    if end - start > MAX_RANGE:
        raise ValidationFailed("The range is longer than 400 days", field="end")
    ids = list(dict.fromkeys(employee_ids))
    if not ids:
        raise ValidationFailed("Name at least one employee", field="employee_id")
    event_query = select(Event).where(Event.employee_id.in_(ids), overlaps(start, end))
    task_query = select(Task).where(
        Task.assignee_id.in_(ids), Task.due_at >= start, Task.due_at < end
    )
    if not include_cancelled:
        event_query = event_query.where(Event.state != EventState.CANCELLED)
        task_query = task_query.where(Task.state != TaskState.CANCELLED)
    events = await session.scalars(event_query.order_by(Event.starts_at, Event.id).limit(MAX_ITEMS))
    tasks = await session.scalars(task_query.order_by(Task.due_at, Task.id).limit(MAX_ITEMS))
    return CalendarView(events=list(events), tasks=list(tasks))
