"""What an employee's calendar feed holds, and its secret token.

The token is ``employees.calendar_token`` (the API shows it inside ``calendar_url``);
rotating it gives a new URL and the old one stops at once. The feed covers a window
around today (past 90 days, next 365) so a subscription stays small.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import ActorKind, actor_of, now
from crm_core.employees.access import require_admin
from crm_core.errors import NotFound
from crm_core.models import Employee, Event, Task

PAST = timedelta(days=90)
FUTURE = timedelta(days=365)
MAX_ITEMS = 5000


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


async def employee_by_calendar_token(session: AsyncSession, token: str) -> Employee | None:
    """The active employee whose feed this token opens, or None."""
    if not token or len(token) > 64:
        return None
    return await session.scalar(
        select(Employee).where(Employee.calendar_token == token, Employee.active.is_(True))
    )


async def rotate_calendar_token(session: AsyncSession, employee_id: int) -> Employee:
    """A new secret URL for the employee's feed (admins, or the employee themself)."""
    actor = actor_of(session)
    if not (actor.kind is ActorKind.EMPLOYEE and actor.id == employee_id):
        await require_admin(session, action="rotate another employee's calendar link")
    employee = await session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"Employee {employee_id} not found")
    employee.calendar_token = new_calendar_token()
    await session.flush()
    return employee


@dataclass(frozen=True)
class CalendarItems:
    employee: Employee
    events: list[Event]
    tasks: list[Task]


async def calendar_items(session: AsyncSession, employee: Employee) -> CalendarItems:
    """The employee's events (cancelled ones too: subscribers must drop them) and tasks
    with a due time, inside the window, oldest first."""
    at = now(session)
    since, until = at - PAST, at + FUTURE
    events = await session.scalars(
        select(Event)
        .where(
            Event.employee_id == employee.id,
            Event.starts_at >= since,
            Event.starts_at <= until,
        )
        .order_by(Event.starts_at, Event.id)
        .limit(MAX_ITEMS)
    )
    tasks = await session.scalars(
        select(Task)
        .where(
            Task.assignee_id == employee.id,
            Task.due_at.is_not(None),
            Task.due_at >= since,
            Task.due_at <= until,
        )
        .order_by(Task.due_at, Task.id)
        .limit(MAX_ITEMS)
    )
    return CalendarItems(employee, list(events), list(tasks))
