"""``/tasks`` (the employee's open tasks, overdue first) and ``/find <phone or name>``
(customer and lead cards with their last events and open orders)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BotConfig
from bot.i18n import Translate
from bot.staff_keyboards import lead_actions, lead_text
from bot.staff_plan import office_link
from bot.views import rub
from crm_core.context import now
from crm_core.customers.service import list_customers
from crm_core.leads.service import list_leads
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    Employee,
    Event,
    Order,
    StateCategory,
    TaskState,
)
from crm_core.tasks.service import list_tasks

TASKS_SHOWN = 20
FOUND_SHOWN = 3
EVENTS_SHOWN = 3
ORDERS_SHOWN = 5


async def tasks(message: Message, session: AsyncSession, employee: Employee, _: Translate) -> None:
    rows, total = await list_tasks(
        session, assignee_id=employee.id, state=TaskState.OPEN, limit=TASKS_SHOWN
    )
    if not rows:
        await message.answer(_("No open tasks."))
        return
    at, tz = now(session), ZoneInfo(employee.timezone)
    lines = [_("Open tasks: {count}", count=total)]
    for task in sorted(rows, key=lambda t: (t.due_at is None, t.due_at or at, t.id)):
        due = f"{task.due_at.astimezone(tz):%d.%m %H:%M}" if task.due_at else "—"
        mark = "❗" if task.due_at is not None and task.due_at < at else "•"
        lines.append(f"{mark} {due} {task.subject}")
    await message.answer("\n".join(lines))


async def _last_events(session: AsyncSession, condition, tz: ZoneInfo) -> list[str]:
    rows = await session.scalars(
        select(Event).where(condition).order_by(Event.starts_at.desc()).limit(EVENTS_SHOWN)
    )
    return [f"  {e.starts_at.astimezone(tz):%d.%m %H:%M} {e.kind.value}: {e.subject}" for e in rows]


async def _customer_card(
    session: AsyncSession, customer: Customer, tz: ZoneInfo, office: str, _: Translate
) -> str:
    contacts = await session.scalars(
        select(ContactPoint.value)
        .where(ContactPoint.customer_id == customer.id)
        .order_by(ContactPoint.id)
        .limit(4)
    )
    lines = [_("👤 Customer: {name}", name=customer.name), *(f"  {c}" for c in contacts)]
    events = await _last_events(session, Event.customer_id == customer.id, tz)
    if events:
        lines += [_("Last events:"), *events]
    orders = await session.scalars(
        select(Order)
        .where(Order.customer_id == customer.id, Order.category == StateCategory.OPEN)
        .order_by(Order.date.desc())
        .limit(ORDERS_SHOWN)
    )
    orders = list(orders)
    if orders:
        lines.append(_("Open orders:"))
        lines += [f"  {o.number} · {rub(o.total)}" for o in orders]
    lines.append(office_link(office, "customers", customer.id))
    return "\n".join(lines)


async def find(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    employee: Employee,
    _: Translate,
    config: BotConfig | None = None,
) -> None:
    q = (command.args or "").strip()[:100]
    if len(q) < 2:
        await message.answer(_("Write what to find: /find <phone or name>."))
        return
    office = (config.public_url or "") if config else ""
    tz = ZoneInfo(employee.timezone)
    customers, _n = await list_customers(session, q=q, limit=FOUND_SHOWN)
    leads, _n = await list_leads(session, q=q, limit=FOUND_SHOWN)
    if not customers and not leads:
        await message.answer(_("Nothing found for “{q}”.", q=q))
        return
    for customer in customers:
        await message.answer(await _customer_card(session, customer, tz, office, _))
    for lead in leads:
        by_kind = {k: [c.value for c in lead.contacts if c.kind == k] for k in ContactKind}
        events = await _last_events(session, Event.lead_id == lead.id, tz)
        text = lead_text(
            _,
            repeat=False,
            source=lead.source.value,
            name=lead.name,
            phones=by_kind[ContactKind.PHONE],
            emails=by_kind[ContactKind.EMAIL],
            url=office_link(office, "leads", lead.id),
            footer="\n".join([_("Last events:"), *events]) if events else None,
        )
        await message.answer(
            text, reply_markup=lead_actions(_, lead.id, take=lead.responsible_id is None)
        )


def make_router() -> Router:
    router = Router(name="staff-find")
    router.message.register(tasks, Command("tasks"))
    router.message.register(find, Command("find"))
    return router
