"""Who among the staff hears about something, and queueing what they are told.

The responsible employee when Telegram reaches them; otherwise every bound employee
(then the message is *shared*: "Take" gives a lead to whoever presses first). Rows are
written by ``crm_core.notifications.plan`` and sent by ``bot.staff_sender``.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_language
from crm_core.employees.invites import bound_employees
from crm_core.models import Employee
from crm_core.notifications.service import plan


def office_link(office_url: str, what: str, ident: int) -> str:
    return f"{office_url.rstrip('/')}/office/{what}/{ident}"


def reachable(employee: Employee | None) -> bool:
    return (
        employee is not None
        and employee.active
        and employee.telegram_user_id is not None
        and not employee.telegram_unreachable
    )


async def recipients(
    session: AsyncSession, responsible_id: int | None
) -> tuple[list[Employee], bool]:
    """(employees, shared): the responsible alone when reachable, else everyone bound."""
    if responsible_id is not None:
        employee = await session.get(Employee, responsible_id)
        if reachable(employee):
            return [employee], False
    return await bound_employees(session), True


def language_of(employee: Employee, default: str = "ru") -> str:
    return pick_language(employee.language, default=default)


async def queue(
    session: AsyncSession,
    employee: Employee,
    *,
    key: str,
    topic: str,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    language: str = "ru",
    outbox_event_id: int | None = None,
    lead_id: int | None = None,
    order_id: int | None = None,
    due_at: datetime | None = None,
) -> int | None:
    """One message for the sender; None when this (key, employee) was queued before."""
    return await plan(
        session,
        key=key,
        employee_id=employee.id,
        chat_id=employee.telegram_user_id,
        topic=topic,
        text=text,
        reply_markup=markup.model_dump(mode="json", exclude_none=True) if markup else None,
        language=language,
        outbox_event_id=outbox_event_id,
        lead_id=lead_id,
        order_id=order_id,
        due_at=due_at,
    )
