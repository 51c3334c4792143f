"""Reminders reach the employee at their minute (the test clock, no sleeps), once;
late ones say so; Done and Snooze act through the core."""

from __future__ import annotations

from datetime import timedelta

from crm_core.customers.service import create_customer
from crm_core.events.service import create_event
from crm_core.models import Event, EventState, Task, TaskState
from crm_core.tasks.service import create_task
from tests.bot.people import TgUser
from tests.bot.staff_helpers import bind_manager, staff_sender


class sender:  # reads as the function it replaced
    """The worker's reminder step: the planner queues, the staff sender sends."""

    def __init__(self, telegram, sessions, clock) -> None:
        from bot.staff_reminders import ReminderPlanner

        self.planner = ReminderPlanner(sessions, clock=clock)
        self.sender = staff_sender(telegram, sessions, clock)

    async def run_once(self) -> int:
        claimed = await self.planner.run_once()
        while await self.sender.run_once():
            pass
        return claimed


async def test_call_reminder_arrives_at_its_minute_and_snoozes(
    telegram, fake_tg, uow, sessions, clock
):
    anna = TgUser(fake_tg, 800001, "Анна")
    anna_id = await bind_manager(telegram, uow, anna, name="Анна", email="anna@firm.ru")
    start = clock.now() + timedelta(hours=2)
    async with uow() as s:
        customer = await create_customer(s, name="Пётр Сидоров", phones=["+79165554433"])
        call = await create_event(
            s,
            kind="call",
            subject="Перезвонить по счёту",
            starts_at=start,
            remind_at=start - timedelta(minutes=30),
            employee_id=anna_id,
            customer_id=customer.id,
        )
    reminders = sender(telegram, sessions, clock)
    clock.advance(timedelta(minutes=89))
    assert await reminders.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert await reminders.run_once() == 1
    assert await reminders.run_once() == 0  # never twice
    note = fake_tg.last("sendMessage", anna.id)
    assert "Перезвонить по счёту" in note.text and "12:00" in note.text
    assert "Пётр Сидоров +79165554433" in note.text and "опозданием" not in note.text

    await telegram.feed(anna.taps(note.button("⏰ 15")["callback_data"]))
    assert "Напомню в 02.03 11:45" in fake_tg.last("answerCallbackQuery").params["text"]
    clock.advance(timedelta(minutes=15))
    assert await reminders.run_once() == 1
    again = fake_tg.last("sendMessage", anna.id)
    await telegram.feed(anna.taps(again.button("✅")["callback_data"]))
    async with uow() as s:
        assert (await s.get(Event, call.id)).state == EventState.COMPLETED
    await telegram.feed(anna.taps(again.button("✅")["callback_data"]))  # stale
    assert fake_tg.last("answerCallbackQuery").params["text"] == "Уже completed."


async def test_a_reminder_due_while_the_worker_was_down_is_late(
    telegram, fake_tg, uow, sessions, clock, mallory
):
    anna = TgUser(fake_tg, 800001, "Анна")
    anna_id = await bind_manager(telegram, uow, anna, name="Анна", email="anna@firm.ru")
    async with uow() as s:
        task = await create_task(
            s,
            subject="Отправить КП",
            assignee_id=anna_id,
            due_at=clock.now() + timedelta(hours=1),
            remind_at=clock.now() + timedelta(minutes=10),
        )
    clock.advance(timedelta(hours=3))
    assert await sender(telegram, sessions, clock).run_once() == 1
    note = fake_tg.last("sendMessage", anna.id)
    assert "С опозданием: должно было прийти в 02.03 10:10" in note.text
    # Someone else's hands on the button: nothing happens to the task.
    await telegram.feed(mallory.taps(note.button("✅")["callback_data"]))
    await telegram.feed(anna.taps(note.button("⏰ 1 час")["callback_data"]))
    async with uow() as s:
        row = await s.get(Task, task.id)
    assert row.state == TaskState.OPEN and row.remind_at == clock.now() + timedelta(hours=1)
    assert row.reminded_at is None


async def test_today_and_leads(telegram, fake_tg, uow, clock):
    from crm_core.leads.service import intake_lead

    anna = TgUser(fake_tg, 800001, "Анна")
    anna_id = await bind_manager(telegram, uow, anna, name="Анна", email="anna@firm.ru")
    async with uow() as s:
        await create_event(
            s,
            kind="meeting",
            subject="Встреча в офисе",
            employee_id=anna_id,
            starts_at=clock.now() + timedelta(hours=3),
        )
        await create_task(
            s, subject="Старый долг", assignee_id=anna_id, due_at=clock.now() - timedelta(days=1)
        )
        await intake_lead(s, name="Пётр", phones=["+79165554433"], source="web_form")
    await telegram.feed(anna.says("/today"))
    text = fake_tg.last("sendMessage", anna.id).text
    assert "13:00 meeting: Встреча в офисе" in text and "Старый долг" in text
    assert "Необработанных заявок: 1" in text
    await telegram.feed(anna.says("/leads"))
    card = fake_tg.last("sendMessage", anna.id)
    assert "Пётр" in card.text and card.button("🙋")


async def test_the_reminder_step_sleeps_until_the_next_one_is_due(uow, sessions, clock):
    from bot.staff_reminders import ReminderPlanner
    from crm_core.employees.service import create_employee

    planner = ReminderPlanner(sessions, clock=clock, interval=10)
    assert await planner._pause() == 10  # nothing planned: the interval
    async with uow() as s:
        anna = await create_employee(s, name="Anna", email="a@firm.ru")
        await create_task(
            s,
            subject="Soon",
            assignee_id=anna.id,
            due_at=clock.now() + timedelta(hours=1),
            remind_at=clock.now() + timedelta(seconds=3),
        )
    assert await planner._pause() == 3
    clock.advance(timedelta(seconds=4))
    assert await planner._pause() == 10  # due now: claimed by the next pass, not waited for
