"""``/today`` (today's events and tasks, overdue tasks, unprocessed leads) and
``/leads`` (the unprocessed leads, each with the same buttons as a notification)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BotConfig
from bot.i18n import Translate
from bot.staff_keyboards import lead_actions, lead_text
from bot.staff_notify import office_link
from crm_core.context import now
from crm_core.events.service import list_events
from crm_core.leads.service import list_leads
from crm_core.models import ContactKind, Employee, EventState, TaskState
from crm_core.tasks.service import list_tasks

UNPROCESSED = "new"  # the default lead state: nobody has worked on these yet
LEADS_SHOWN = 5


def _day(employee: Employee, at: datetime) -> tuple[datetime, datetime]:
    """Today in the employee's time zone, as a UTC [start, end)."""
    tz = ZoneInfo(employee.timezone)
    local = at.astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _hm(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M") if at else "—"


async def today(message: Message, session: AsyncSession, employee: Employee, tr: Translate) -> None:
    at = now(session)
    tz = ZoneInfo(employee.timezone)
    start, end = _day(employee, at)
    events, _ = await list_events(
        session, employee_id=employee.id, state=EventState.PLANNED, date_from=start, date_to=end
    )
    due, _ = await list_tasks(
        session, assignee_id=employee.id, state=TaskState.OPEN, due_from=at, due_to=end
    )
    overdue, _ = await list_tasks(
        session, assignee_id=employee.id, state=TaskState.OPEN, overdue=True
    )
    _, unprocessed = await list_leads(session, state=UNPROCESSED, limit=1)
    nothing = f"  {tr('today_nothing')}"
    lines = [tr("today_title", date=at.astimezone(tz).strftime("%d.%m.%Y")), tr("today_events")]
    lines += [f"  {_hm(e.starts_at, tz)} {e.kind.value}: {e.subject}" for e in events] or [nothing]
    lines.append(tr("today_tasks"))
    lines += [f"  {_hm(t.due_at, tz)} {t.subject}" for t in due] or [nothing]
    if overdue:
        lines.append(tr("today_overdue"))
        lines += [f"  ❗ {t.due_at.astimezone(tz):%d.%m %H:%M} {t.subject}" for t in overdue]
    lines.append(tr("today_leads", count=unprocessed))
    await message.answer("\n".join(lines))


async def leads(
    message: Message,
    session: AsyncSession,
    employee: Employee,
    tr: Translate,
    config: BotConfig | None = None,
) -> None:
    rows, total = await list_leads(session, state=UNPROCESSED, limit=LEADS_SHOWN)
    if not rows:
        await message.answer(tr("leads_none"))
        return
    await message.answer(tr("leads_title", count=total))
    office = (config.public_url or "") if config else ""
    for lead in rows:
        by_kind = {k: [c.value for c in lead.contacts if c.kind == k] for k in ContactKind}
        text = lead_text(
            tr,
            repeat=False,
            source=lead.source.value,
            name=lead.name,
            phones=by_kind[ContactKind.PHONE],
            emails=by_kind[ContactKind.EMAIL],
            url=office_link(office, "leads", lead.id),
        )
        markup = lead_actions(tr, lead.id, take=lead.responsible_id is None)
        await message.answer(text, reply_markup=markup)


def make_router() -> Router:
    router = Router(name="staff-today")
    router.message.register(today, Command("today"))
    router.message.register(leads, Command("leads"))
    return router
