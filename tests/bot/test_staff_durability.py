"""Nothing lost, nothing doubled: a real ``firma worker`` process killed (SIGKILL) in the
middle of sending, then another worker finishing the job; two workers racing over one
queue. Only a message in flight at the kill may arrive twice — at most the sender's
concurrency."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from crm_core.context import FrozenClock
from crm_core.db import create_engine, session_factory
from crm_core.employees.service import create_employee
from crm_core.leads.service import intake_lead
from crm_core.models import Employee, NotificationStatus, StaffNotification
from tests.bot.staff_helpers import drain, staff_relay, staff_sender

CONCURRENCY = 4  # StaffDesk's default: the most that can be in flight at a kill
MANAGERS = (800001, 800002)


async def seed(uow, leads: int) -> None:
    """Bound managers and ``leads`` new leads nobody is responsible for (everyone hears)."""
    async with uow() as s:
        for n, chat in enumerate(MANAGERS):
            employee = await create_employee(s, name=f"M{n}", email=f"m{n}@firm.ru")
            await s.execute(
                update(Employee).where(Employee.id == employee.id).values(telegram_user_id=chat)
            )
    for start in range(0, leads, 100):
        async with uow() as s:
            for i in range(start, min(start + 100, leads)):
                await intake_lead(s, name=f"Лид {i:04d}", phones=[f"+7916{i:07d}"], source="api")


def lead_cards(fake_tg) -> Counter:
    return Counter(
        (c.chat_id, c.text.splitlines()[1])
        for c in fake_tg.of("sendMessage")
        if c.chat_id in MANAGERS and c.text.startswith("🆕")
    )


async def test_a_worker_killed_mid_batch_loses_nothing(
    engine, sessions, uow, fake_tg, telegram, tmp_path
):
    leads = 60  # 120 messages: ~5 s at the 25 msg/s limit
    await seed(uow, leads)
    env = {
        **os.environ,
        "FIRMA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "FIRMA_TELEGRAM_BOT_TOKEN": fake_tg.token,
        "FIRMA_TELEGRAM_API_URL": fake_tg.url,
        "FIRMA_PUBLIC_URL": "https://crm.example.ru",
    }
    env.pop("FIRMA_REDIS_URL", None)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "firma",
        "worker",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # Up to 2 min: a worker's start (aiogram's imports) is slow on a busy machine.
        for _ in range(2400):
            if sum(lead_cards(fake_tg).values()) >= 40:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker sent nothing")
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    at_kill = sum(lead_cards(fake_tg).values())
    assert 40 <= at_kill < 2 * leads, "killed mid-batch"

    # Another worker, later: the killed one's leases have run out (outbox and queue).
    later = FrozenClock(datetime.now(UTC) + timedelta(minutes=5))
    await drain(staff_relay(telegram, sessions, later), staff_sender(telegram, sessions, later))
    cards = lead_cards(fake_tg)
    expected = {(chat, f"Лид {i:04d}") for chat in MANAGERS for i in range(leads)}
    assert set(cards) == expected  # none missing
    doubled = sum(count - 1 for count in cards.values())
    assert doubled <= CONCURRENCY, cards.most_common(5)
    async with uow() as s:
        rows = await s.execute(
            select(StaffNotification.status, func.count())
            .where(StaffNotification.topic == "lead.created")
            .group_by(StaffNotification.status)
        )
        statuses = dict(rows.all())
    assert statuses == {NotificationStatus.SENT: 2 * leads}


async def test_two_workers_deliver_1000_notifications_once(engine, uow, fake_tg, telegram, clock):
    await seed(uow, 500)
    url = engine.url.render_as_string(hide_password=False)
    engines = [create_engine(url) for _ in range(2)]
    try:
        workers = []
        for n, eng in enumerate(engines):
            sessions = session_factory(eng)
            relay = staff_relay(telegram, sessions, clock)
            relay.batch_size = 20
            sender = staff_sender(telegram, sessions, clock, batch_size=20, name=f"w{n}")
            workers.append((relay, sender))

        async def work(relay, sender) -> None:
            while True:
                moved = await relay.run_once() + await sender.run_once()
                if not moved:
                    await relay.flush()
                    if not await sender.run_once():
                        return

        await asyncio.gather(*(work(r, s) for r, s in workers))
    finally:
        for eng in engines:
            await eng.dispose()
    cards = lead_cards(fake_tg)
    assert len(cards) == 1000 and set(cards.values()) == {1}


async def test_two_workers_send_each_reminder_once(engine, uow, fake_tg, telegram, clock):
    from bot.staff_reminders import ReminderPlanner
    from crm_core.tasks.service import create_task

    await seed(uow, 0)
    async with uow() as s:
        employees = (await s.scalars(select(Employee).order_by(Employee.id))).all()
        for i in range(300):
            await create_task(
                s,
                subject=f"R{i:03d}",
                assignee_id=employees[i % 2].id,
                due_at=clock.now() + timedelta(hours=2),
                remind_at=clock.now() + timedelta(minutes=1),
            )
    clock.advance(timedelta(minutes=1))
    url = engine.url.render_as_string(hide_password=False)
    engines = [create_engine(url) for _ in range(2)]
    try:
        pairs = []
        for n, eng in enumerate(engines):
            sessions = session_factory(eng)
            planner = ReminderPlanner(sessions, clock=clock, batch_size=25)
            pairs.append((planner, staff_sender(telegram, sessions, clock, name=f"w{n}")))

        async def work(planner, sender) -> None:
            while await planner.run_once() + await sender.run_once():
                pass
            while await sender.run_once():
                pass

        await asyncio.gather(*(work(p, s) for p, s in pairs))
    finally:
        for eng in engines:
            await eng.dispose()
    sent = Counter(
        c.text.splitlines()[0].split(": ", 1)[1]
        for c in fake_tg.of("sendMessage")
        if c.text.startswith("🔔")
    )
    assert len(sent) == 300 and set(sent.values()) == {1}
