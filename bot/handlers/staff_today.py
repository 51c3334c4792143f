"""``/today`` (today's events and tasks, overdue tasks, unprocessed leads) and
``/leads`` (the unprocessed leads, each with the same buttons as a notification)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BotConfig
from bot.i18n import Translate
from bot.staff_agenda import UNPROCESSED, agenda_text
from bot.staff_keyboards import lead_actions, lead_text
from bot.staff_notify import office_link
from crm_core.leads.service import list_leads
from crm_core.models import ContactKind, Employee

LEADS_SHOWN = 5


async def today(message: Message, session: AsyncSession, employee: Employee, _: Translate) -> None:
    await message.answer(await agenda_text(session, employee, _))


async def leads(
    message: Message,
    session: AsyncSession,
    employee: Employee,
    _: Translate,
    config: BotConfig | None = None,
) -> None:
    rows, total = await list_leads(session, state=UNPROCESSED, limit=LEADS_SHOWN)
    if not rows:
        await message.answer(_("No unprocessed leads."))
        return
    await message.answer(_("Unprocessed leads: {count}", count=total))
    office = (config.public_url or "") if config else ""
    for lead in rows:
        by_kind = {k: [c.value for c in lead.contacts if c.kind == k] for k in ContactKind}
        text = lead_text(
            _,
            repeat=False,
            source=lead.source.value,
            name=lead.name,
            phones=by_kind[ContactKind.PHONE],
            emails=by_kind[ContactKind.EMAIL],
            url=office_link(office, "leads", lead.id),
        )
        markup = lead_actions(_, lead.id, take=lead.responsible_id is None)
        await message.answer(text, reply_markup=markup)


def make_router() -> Router:
    router = Router(name="staff-today")
    router.message.register(today, Command("today"))
    router.message.register(leads, Command("leads"))
    return router
