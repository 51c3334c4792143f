"""The daily agenda: at each employee's hour in their time zone, once per day, also
across a restart; today's events and tasks, overdue tasks and orders, unprocessed leads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.staff_agenda import AgendaPlanner
from crm_core.customers.service import create_customer
from crm_core.events.service import create_event
from crm_core.leads.service import intake_lead
from crm_core.models import Employee
from crm_core.orders.lines import LineInput
from crm_core.orders.service import create_order
from crm_core.tasks.service import create_task
from tests.bot.people import TgUser
from tests.bot.staff_helpers import bind_manager, staff_sender


async def test_agenda_at_each_employees_hour_once_a_day(
    telegram, fake_tg, uow, sessions, clock, shop
):
    anna, boris = TgUser(fake_tg, 800001, "Anna"), TgUser(fake_tg, 800002, "Boris")
    anna_id = await bind_manager(telegram, uow, anna, name="Anna", email="a@firm.ru", language="en")
    boris_id = await bind_manager(
        telegram,
        uow,
        boris,
        name="Boris",
        email="b@firm.ru",
        language="en",
        timezone="Asia/Yekaterinburg",
    )
    async with uow() as s:
        (await s.get(Employee, boris_id)).agenda_hour = 14  # 09:00 UTC
        customer = await create_customer(s, name="Пётр")
        await create_order(
            s,
            customer_id=customer.id,
            lines=[LineInput(shop["drill"], Decimal(1))],
            due_at=clock.now() - timedelta(days=1),
            responsible_id=anna_id,
        )
        await create_event(
            s,
            kind="meeting",
            subject="Showroom",
            employee_id=anna_id,
            starts_at=clock.now() + timedelta(hours=4),
        )
        await create_task(
            s, subject="Old debt", assignee_id=anna_id, due_at=clock.now() - timedelta(days=1)
        )
        await intake_lead(s, name="Лид", phones=["+79160000001"], source="web_form")
    planner = AgendaPlanner(sessions, clock=clock)
    sender = staff_sender(telegram, sessions, clock)
    assert await planner.run_once() == 1  # 10:00 in Moscow: Anna's 09:00 has come
    assert await planner.run_once() == 0
    await sender.run_once()
    text = fake_tg.last("sendMessage", anna.id).text
    assert text.startswith("📅 Today, 02.03.2026\nEvents:\n  14:00 meeting: Showroom")
    assert "Overdue tasks:\n  ❗ 01.03 10:00 Old debt" in text
    assert "Overdue orders: 1" in text and "Unprocessed leads: 1" in text

    clock.advance(timedelta(hours=1, minutes=59))  # 13:59 in Yekaterinburg
    assert await planner.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert await AgendaPlanner(sessions, clock=clock).run_once() == 1  # a restarted worker
    await sender.run_once()
    assert fake_tg.last("sendMessage", boris.id).text.startswith("📅 Today, 02.03.2026")

    clock.advance(timedelta(hours=22))  # 07:00 UTC next day: 10:00 Moscow, 12:00 Yekat.
    assert await planner.run_once() == 1
    clock.advance(timedelta(hours=2))
    assert await planner.run_once() == 1
    assert await planner.run_once() == 0
