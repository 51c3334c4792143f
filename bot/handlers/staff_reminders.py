"""The buttons under a reminder: Done, Snooze 15 min, Snooze 1 h — through the core.

Only the reminder's own employee may press them (an event's ``employee_id``, a task's
``assignee_id``); a second press of a finished one says what it already is.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.common import show
from bot.i18n import Translate
from bot.staff_keyboards import StaffReminderCb
from crm_core.context import now
from crm_core.events.service import update_event
from crm_core.models import Employee, Event, EventState, Task, TaskState
from crm_core.tasks.service import complete_task, update_task

SNOOZE = {"s15": timedelta(minutes=15), "s60": timedelta(hours=1)}


def local(at, employee: Employee) -> str:
    return at.astimezone(ZoneInfo(employee.timezone)).strftime("%d.%m %H:%M")


async def reminder_action(
    query: CallbackQuery,
    callback_data: StaffReminderCb,
    session: AsyncSession,
    employee: Employee,
    tr: Translate,
) -> None:
    is_event = callback_data.kind == "e"
    model = Event if is_event else Task
    item = await session.get(model, callback_data.item_id)
    owner = (item.employee_id if is_event else item.assignee_id) if item else None
    if item is None or owner != employee.id:
        await query.answer(tr("not_found"))
        return
    open_state = EventState.PLANNED if is_event else TaskState.OPEN
    if item.state != open_state:
        await query.answer(tr("reminder_stale", state=item.state.value), show_alert=True)
        return
    action = callback_data.action
    if action == "done":
        if is_event:
            await update_event(session, item.id, state=EventState.COMPLETED)
        else:
            await complete_task(session, item.id)
        note = tr("reminder_done")
    elif action in SNOOZE:
        at = now(session) + SNOOZE[action]
        if is_event and at > item.starts_at:
            # The core never reminds after the start: the latest is the start itself.
            if item.starts_at <= now(session):
                await query.answer(
                    tr("reminder_no_later", at=local(item.starts_at, employee)), show_alert=True
                )
                return
            at = item.starts_at
        if is_event:
            await update_event(session, item.id, remind_at=at)
        else:
            await update_task(session, item.id, remind_at=at)
        note = tr("reminder_snoozed", at=local(at, employee))
    else:
        await query.answer(tr("outdated"))
        return
    await session.commit()
    await query.answer(note)
    text = query.message.text if query.message and query.message.text else ""
    await show(query, f"{text}\n\n{note}".strip())


def make_router() -> Router:
    router = Router(name="staff-reminders")
    router.callback_query.register(reminder_action, StaffReminderCb.filter())
    return router
