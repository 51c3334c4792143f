"""New and repeated leads → the managers' Telegram, once per (outbox event, employee).

Registered by ``firma/worker.py``. Recipients: the responsible employee when there is
one, else every bound active employee (then "Take" gives the lead to whoever presses
first). Each send is guarded by a delivery row (``crm_core.notifications``) committed
before the send, so a redelivered event skips who already got it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import pick_language, translator
from bot.staff_keyboards import lead_actions, lead_text
from crm_core.context import Clock
from crm_core.db import unit_of_work
from crm_core.employees.invites import bound_employees, set_employee_unreachable
from crm_core.models import Employee
from crm_core.notifications.service import mark_failed, mark_sent, reserve

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    row_id: int
    chat_id: int
    language: str


def office_link(office_url: str, what: str, ident: int) -> str:
    return f"{office_url.rstrip('/')}/office/{what}/{ident}"


def staff_subscribers(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    *,
    office_url: str,
    clock: Clock | None = None,
    default_language: str = "ru",
) -> dict[str, list]:
    """Topic → subscriber for the worker."""

    async def recipients(session: AsyncSession, responsible_id: int | None) -> list[Employee]:
        if responsible_id is None:
            return await bound_employees(session)
        employee = await session.get(Employee, responsible_id)
        reachable = (
            employee is not None
            and employee.active
            and employee.telegram_user_id is not None
            and not employee.telegram_unreachable
        )
        return [employee] if reachable else []

    async def plan(event, lead_id: int | None, responsible_id: int | None) -> list[Delivery]:
        async with unit_of_work(sessions, clock=clock) as session:
            out = []
            for employee in await recipients(session, responsible_id):
                row_id = await reserve(
                    session,
                    outbox_event_id=event.id,
                    employee_id=employee.id,
                    chat_id=employee.telegram_user_id,
                    topic=event.topic,
                    lead_id=lead_id,
                )
                if row_id is not None:
                    language = pick_language(employee.language, default=default_language)
                    out.append(Delivery(row_id, employee.telegram_user_id, language))
            return out  # committed: the rows exist before any message leaves

    async def deliver(delivery: Delivery, text: str, markup) -> None:
        try:
            sent = await bot.send_message(delivery.chat_id, text, reply_markup=markup)
        except TelegramForbiddenError:
            log.info("employee chat %s blocked the bot", delivery.chat_id)
            async with unit_of_work(sessions, clock=clock) as session:
                await mark_failed(session, delivery.row_id)
                await set_employee_unreachable(session, delivery.chat_id)
            return
        async with unit_of_work(sessions, clock=clock) as session:
            await mark_sent(session, delivery.row_id, message_id=sent.message_id)

    async def lead_event(event) -> None:
        p = event.payload
        lead_id, customer_id = p.get("lead_id"), p.get("customer_id")
        if lead_id is None and customer_id is None:
            return
        repeat = event.topic == "lead.merged"
        url = (
            office_link(office_url, "leads", lead_id)
            if lead_id is not None
            else office_link(office_url, "customers", customer_id)
        )
        # A merge into an open lead keeps its responsible; the payload may not say it.
        responsible_id = p.get("responsible_id")
        if repeat and lead_id is not None and responsible_id is None:
            responsible_id = await _lead_responsible(lead_id)
        for delivery in await plan(event, lead_id, responsible_id):
            tr = translator(delivery.language)
            text = lead_text(
                tr,
                repeat=repeat,
                source=str(p.get("source") or ""),
                name=p.get("name"),
                phones=p.get("phones") or (),
                emails=p.get("emails") or (),
                answers=p.get("answers") or p.get("data"),
                url=url,
            )
            # Buttons only for an open lead; a merge into a customer is information.
            markup = (
                lead_actions(tr, lead_id, take=responsible_id is None)
                if lead_id is not None
                else None
            )
            await deliver(delivery, text, markup)

    async def _lead_responsible(lead_id: int) -> int | None:
        from crm_core.models import Lead

        async with unit_of_work(sessions, clock=clock) as session:
            lead = await session.get(Lead, lead_id)
            return lead.responsible_id if lead is not None else None

    return {"lead.created": [lead_event], "lead.merged": [lead_event]}
