"""The buttons under a reminder: Done, Snooze 15 min / 1 h / tomorrow, Cancel — through
the core. A call whose time has come is moved instead of snoozed.

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
from crm_core.models import Employee, Event, EventKind, EventState, Task, TaskState
from crm_core.tasks.service import cancel_task, complete_task, update_task

SNOOZE = {"s15": timedelta(minutes=15), "s60": timedelta(hours=1), "s1d": timedelta(days=1)}


def local(at, employee: Employee) -> str:
    return at.astimezone(ZoneInfo(employee.timezone)).strftime("%d.%m %H:%M")


async def reminder_action(
    query: CallbackQuery,
    callback_data: StaffReminderCb,
    session: AsyncSession,
    employee: Employee,
    _: Translate,
) -> None:
    is_event = callback_data.kind == "e"
    model = Event if is_event else Task
    item = await session.get(model, callback_data.item_id)
    owner = (item.employee_id if is_event else item.assignee_id) if item else None
    if item is None or owner != employee.id:
        await query.answer(_("Not found."))
        return
    open_state = EventState.PLANNED if is_event else TaskState.OPEN
    if item.state != open_state:
        await query.answer(_("Already {state}.", state=item.state.value), show_alert=True)
        return
    action = callback_data.action
    if action == "done":
        if is_event:
            await update_event(session, item.id, state=EventState.COMPLETED)
        else:
            await complete_task(session, item.id)
        note = _("✅ Marked as done.")
    elif action == "cx":
        if is_event:
            await update_event(session, item.id, state=EventState.CANCELLED)
        else:
            await cancel_task(session, item.id)
        note = _("✖️ Cancelled.")
    elif (
        action in SNOOZE
        and is_event
        and item.kind == EventKind.CALL
        and (item.starts_at <= now(session))
    ):
        # A call whose time has come: snoozing it means calling later.
        at = now(session) + SNOOZE[action]
        ends_at = item.ends_at + (at - item.starts_at) if item.ends_at else None
        await update_event(session, item.id, starts_at=at, ends_at=ends_at, remind_at=at)
        note = _("📞 Call moved to {at}.", at=local(at, employee))
    elif action in SNOOZE:
        at = now(session) + SNOOZE[action]
        if is_event and at > item.starts_at:
            # The core never reminds after the start: the latest is the start itself.
            if item.starts_at <= now(session):
                await query.answer(
                    _("Cannot remind after the start ({at}).", at=local(item.starts_at, employee)),
                    show_alert=True,
                )
                return
            at = item.starts_at
        if is_event:
            await update_event(session, item.id, remind_at=at)
        else:
            await update_task(session, item.id, remind_at=at)
        note = _("⏰ I will remind you at {at}.", at=local(at, employee))
    else:
        await query.answer(_("This button is outdated."))
        return
    await session.commit()
    await query.answer(note)
    text = query.message.text if query.message and query.message.text else ""
    await show(query, f"{text}\n\n{note}".strip())


def make_router() -> Router:
    router = Router(name="staff-reminders")
    router.callback_query.register(reminder_action, StaffReminderCb.filter())
    return router
