"""The daily agenda: what ``/today`` shows, and the message each employee gets at
their ``agenda_hour`` (their time zone) — once per local day, durably.

``AgendaPlanner`` is a periodic pass: for each bound employee whose local hour has come
and whose ``agenda:<local date>`` row does not exist yet, it queues one. The unique
``(key, employee_id)`` makes the pass idempotent across restarts and workers; an
agenda not sent by the end of that day is not sent late (a new day has its own).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translate, translator
from bot.staff_plan import language_of, queue
from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.employees.invites import bound_employees
from crm_core.events.service import list_events
from crm_core.leads.service import list_leads
from crm_core.models import (
    Employee,
    EventState,
    Order,
    OrderIndicator,
    StaffNotification,
    TaskState,
)
from crm_core.orders.indicators import indicator_filter
from crm_core.tasks.service import list_tasks

log = logging.getLogger(__name__)

UNPROCESSED = "new"  # the default lead state: nobody has worked on these yet
ORDERS_SHOWN = 10
AGENDA_TOPIC = "agenda"


def local_day(employee: Employee, at: datetime) -> tuple[datetime, datetime]:
    """Today in the employee's time zone, as a UTC [start, end)."""
    local = at.astimezone(ZoneInfo(employee.timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _hm(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M") if at else "—"


async def agenda_text(session: AsyncSession, employee: Employee, _: Translate) -> str:
    """Today's events and tasks, overdue tasks and orders, unprocessed leads."""
    at = now(session)
    tz = ZoneInfo(employee.timezone)
    start, end = local_day(employee, at)
    events, _n = await list_events(
        session, employee_id=employee.id, state=EventState.PLANNED, date_from=start, date_to=end
    )
    due, _n = await list_tasks(
        session, assignee_id=employee.id, state=TaskState.OPEN, due_from=at, due_to=end
    )
    overdue, _n = await list_tasks(
        session, assignee_id=employee.id, state=TaskState.OPEN, overdue=True
    )
    late_orders = indicator_filter(OrderIndicator.OVERDUE, at)
    mine = Order.responsible_id == employee.id
    orders = (
        await session.execute(
            select(Order.number, Order.due_at)
            .where(late_orders, mine)
            .order_by(Order.due_at)
            .limit(ORDERS_SHOWN)
        )
    ).all()
    orders_total = await session.scalar(select(func.count()).where(late_orders, mine))
    _first, unprocessed = await list_leads(session, state=UNPROCESSED, limit=1)
    nothing = "  " + _("nothing")
    lines = [_("📅 Today, {date}", date=at.astimezone(tz).strftime("%d.%m.%Y")), _("Events:")]
    lines += [f"  {_hm(e.starts_at, tz)} {e.kind.value}: {e.subject}" for e in events] or [nothing]
    lines.append(_("Tasks due today:"))
    lines += [f"  {_hm(t.due_at, tz)} {t.subject}" for t in due] or [nothing]
    if overdue:
        lines.append(_("Overdue tasks:"))
        lines += [f"  ❗ {t.due_at.astimezone(tz):%d.%m %H:%M} {t.subject}" for t in overdue]
    if orders:
        lines.append(_("Overdue orders: {count}", count=orders_total))
        lines += [f"  🔴 {number} ({due_at.astimezone(tz):%d.%m})" for number, due_at in orders]
    lines.append(_("Unprocessed leads: {count}", count=unprocessed))
    return "\n".join(lines)


class AgendaPlanner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        default_language: str = "ru",
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        self.default_language, self.on_queued = default_language, on_queued

    async def run_once(self) -> int:
        """Queue the agendas whose hour has come today; returns how many."""
        queued = 0
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            at = now(session)
            due: dict[str, Employee] = {}
            for employee in await bound_employees(session):
                local = at.astimezone(ZoneInfo(employee.timezone))
                if local.hour >= employee.agenda_hour:
                    due[f"{employee.id}:agenda:{local.date().isoformat()}"] = employee
            if not due:
                return 0
            done = await session.execute(
                select(StaffNotification.employee_id, StaffNotification.key).where(
                    StaffNotification.topic == AGENDA_TOPIC,
                    StaffNotification.employee_id.in_([e.id for e in due.values()]),
                    StaffNotification.created_at >= at - timedelta(days=2),
                )
            )
            for employee_id, key in done:
                due.pop(f"{employee_id}:{key}", None)
            for compound, employee in due.items():
                language = language_of(employee, self.default_language)
                text = await agenda_text(session, employee, translator(language))
                row = await queue(
                    session,
                    employee,
                    key=compound.split(":", 1)[1],
                    topic=AGENDA_TOPIC,
                    text=text,
                    language=language,
                )
                queued += row is not None
        if queued and self.on_queued is not None:
            self.on_queued()
        return queued
