""" "Call back…" under a lead: a planned ``call`` event on the presser's calendar at a
picked time (in 1 h, tomorrow 10:00, or a time they write), reminded at that minute.

A second press for the same time makes no second call: it says it is already planned.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Is
from bot.i18n import Translate
from bot.staff_keyboards import StaffLeadCb, callback_times
from crm_core.context import now
from crm_core.events.service import create_event
from crm_core.models import Employee, Event, EventKind, EventState, Lead

SUBJECT = "Перезвонить"
TOMORROW_AT = 10  # local hour of "tomorrow 10:00"
_TIME = re.compile(
    r"^\s*(?:(?P<day>\d{1,2})\.(?P<month>\d{1,2})(?:\.(?P<year>\d{2,4}))?\s+)?"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})\s*$"
)


class StaffCallBack(StatesGroup):
    when = State()


def parse_local_time(text: str, *, at: datetime, timezone: str) -> datetime | None:
    """``HH:MM`` (today, or tomorrow when already past), ``DD.MM HH:MM`` or
    ``DD.MM.YYYY HH:MM`` in the employee's time zone → aware UTC; None if unreadable."""
    match = _TIME.match(text or "")
    if match is None:
        return None
    tz = ZoneInfo(timezone)
    local = at.astimezone(tz)
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    year = parts.get("year", local.year)
    if year < 100:
        year += 2000
    try:
        when = datetime(
            year,
            parts.get("month", local.month),
            parts.get("day", local.day),
            parts["hour"],
            parts["minute"],
            tzinfo=tz,
        )
    except ValueError:
        return None
    if "day" not in parts and when <= local:
        when += timedelta(days=1)
    return when.astimezone(at.tzinfo)


def _local(at: datetime, employee: Employee) -> str:
    return at.astimezone(ZoneInfo(employee.timezone)).strftime("%d.%m %H:%M")


async def plan_call(
    session: AsyncSession, employee: Employee, lead_id: int, starts_at: datetime
) -> tuple[Event, bool]:
    """The call event (created, or the one already planned for that minute)."""
    existing = await session.scalar(
        select(Event).where(
            Event.lead_id == lead_id,
            Event.employee_id == employee.id,
            Event.kind == EventKind.CALL,
            Event.state == EventState.PLANNED,
            Event.starts_at == starts_at,
        )
    )
    if existing is not None:
        return existing, False
    lead = await session.get(Lead, lead_id)
    subject = f"{SUBJECT}: {lead.name}" if lead is not None and lead.name else SUBJECT
    event = await create_event(
        session,
        kind=EventKind.CALL,
        subject=subject,
        starts_at=starts_at,
        remind_at=starts_at,
        employee_id=employee.id,
        customer_id=lead.customer_id if lead is not None else None,
        lead_id=lead_id,
    )
    return event, True


async def _schedule(answer, session, employee: Employee, lead_id: int, at: datetime, _):
    if at <= now(session):
        await answer(_("That time has passed; pick a later one."))
        return False
    _event, created = await plan_call(session, employee, lead_id, at)
    await session.commit()
    when = _local(at, employee)
    if created:
        await answer(_("📞 Call back planned for {at}; I will remind you.", at=when))
    else:
        await answer(_("A call back is already planned for {at}.", at=when))
    return True


async def call_back(
    query: CallbackQuery,
    callback_data: StaffLeadCb,
    session: AsyncSession,
    employee: Employee,
    state: FSMContext,
    _: Translate,
) -> None:
    lead = await session.get(Lead, callback_data.lead_id)
    if lead is None:
        await query.answer(_("Not found."))
        return
    action = callback_data.action
    at = now(session)
    if action == "cb":
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=callback_times(_, lead.id))
        return
    if action == "cbc":
        await state.set_state(StaffCallBack.when)
        await state.update_data(lead_id=lead.id)
        await query.answer()
        await query.bot.send_message(
            query.from_user.id, _("When to call back? Write HH:MM or DD.MM HH:MM.")
        )
        return
    if action == "cb1":
        starts_at = (at + timedelta(hours=1)).replace(second=0, microsecond=0)
    elif action == "cbt":
        tz = ZoneInfo(employee.timezone)
        tomorrow = at.astimezone(tz).date() + timedelta(days=1)
        starts_at = datetime(
            tomorrow.year, tomorrow.month, tomorrow.day, TOMORROW_AT, tzinfo=tz
        ).astimezone(at.tzinfo)
    else:
        await query.answer(_("This button is outdated."))
        return

    async def answer(text: str) -> None:
        await query.answer(text, show_alert=True)

    await _schedule(answer, session, employee, lead.id, starts_at, _)


async def call_back_time(
    message: Message,
    session: AsyncSession,
    employee: Employee,
    state: FSMContext,
    _: Translate,
) -> None:
    data = await state.get_data()
    lead_id = data.get("lead_id")
    starts_at = parse_local_time(message.text, at=now(session), timezone=employee.timezone)
    if lead_id is None:
        await state.clear()
        return
    if starts_at is None:
        await message.answer(_("Write the time as HH:MM or DD.MM HH:MM."))
        return
    if await _schedule(message.answer, session, employee, lead_id, starts_at, _):
        await state.clear()


def make_router() -> Router:
    router = Router(name="staff-callback")
    router.callback_query.register(call_back, StaffLeadCb.filter(F.action.startswith("cb")))
    router.message.register(
        call_back_time, StateFilter(StaffCallBack.when), Is(F.text & ~F.text.startswith("/"))
    )
    return router
