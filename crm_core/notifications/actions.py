"""What the bot's manager buttons and reminders need from the core beyond the plain
services: "Take" with first-press-wins, a reminder's counterpart, releasing a reminder.

"Take" locks the lead row (``FOR UPDATE`` on PostgreSQL; SQLite writers are serialised
by ``BEGIN IMMEDIATE``) before reading its responsible, so of two presses at the same
moment the second sees the first's result and is told who took it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.leads.service import update_lead
from crm_core.lookup import get_or_404
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    Employee,
    Event,
    EventState,
    Lead,
    LeadResult,
    Task,
    TaskState,
)

IN_WORK = "in_work"


@dataclass(frozen=True, slots=True)
class TakeOutcome:
    taken: bool  # this call assigned the lead
    lead: Lead
    responsible: Employee | None  # who has it now
    result: LeadResult


async def take_lead(session: AsyncSession, lead_id: int, *, employee_id: int) -> TakeOutcome:
    lead = await get_or_404(session, Lead, lead_id, what="Lead", for_update=True)
    await session.refresh(lead)  # the locked row as committed, not a cached copy
    current = lead.responsible_id
    owner = await session.get(Employee, current) if current else None
    # A responsible Telegram cannot reach was never told: the lead went to everyone.
    free = (
        owner is None
        or not owner.active
        or owner.telegram_user_id is None
        or owner.telegram_unreachable
    )
    if lead.result != LeadResult.OPEN or not (free or current == employee_id):
        return TakeOutcome(False, lead, owner, lead.result)
    lead = await update_lead(session, lead_id, responsible_id=employee_id, state=IN_WORK)
    me = await session.get(Employee, employee_id)
    return TakeOutcome(current != employee_id, lead, me, lead.result)


async def counterpart(
    session: AsyncSession, *, customer_id: int | None, lead_id: int | None
) -> tuple[str | None, str | None]:
    """The name and first phone of the customer (else the lead) the reminder is about."""
    if customer_id is not None:
        name = await session.scalar(select(Customer.name).where(Customer.id == customer_id))
        owner = ContactPoint.customer_id == customer_id
    elif lead_id is not None:
        name = await session.scalar(select(Lead.name).where(Lead.id == lead_id))
        owner = ContactPoint.lead_id == lead_id
    else:
        return None, None
    phone = await session.scalar(
        select(ContactPoint.value)
        .where(owner, ContactPoint.kind == ContactKind.PHONE)
        .order_by(ContactPoint.id)
        .limit(1)
    )
    return name, phone


async def release_reminder(session: AsyncSession, *, kind: str, item_id: int) -> None:
    """Make a claimed reminder due again (its send failed for a passing reason)."""
    model = Event if kind == "event" else Task
    await session.execute(
        update(model)
        .where(model.id == item_id)
        .values(reminded_at=None)
        .execution_options(synchronize_session=False)
    )


async def next_reminder_at(session: AsyncSession) -> datetime | None:
    """The earliest future minute a planned event's or open task's reminder is due
    (the reminder step sleeps until then instead of polling)."""
    at = now(session)
    found = []
    for model, open_state in ((Event, EventState.PLANNED), (Task, TaskState.OPEN)):
        found.append(
            await session.scalar(
                select(func.min(model.remind_at)).where(
                    model.remind_at > at,
                    model.reminded_at.is_(None),
                    model.state == open_state,
                )
            )
        )
    return min((f for f in found if f is not None), default=None)
