"""The staff send queue against the fake Bot API: 429 waited out or rescheduled,
5xx and network errors retried with backoff, 403 marks the employee unreachable (the
API shows it), late reminders say so; the global rate limit in process and in Redis."""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.staff_plan import queue
from bot.staff_rate import LocalRate, RedisRate
from crm_core.models import Employee, NotificationStatus, StaffNotification
from tests.bot.people import TgUser
from tests.bot.staff_helpers import bind_manager, staff_sender

REDIS_URL = os.environ.get("FIRMA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def queued(uow, employee_id: int, key: str, **extra) -> int:
    async with uow() as s:
        employee = await s.get(Employee, employee_id)
        return await queue(s, employee, key=key, topic="test", text=f"hello {key}", **extra)


async def row(uow, row_id: int) -> StaffNotification:
    async with uow() as s:
        return await s.get(StaffNotification, row_id)


@pytest.fixture
async def anna(telegram, fake_tg, uow) -> tuple[TgUser, int]:
    user = TgUser(fake_tg, 800001, "Anna")
    return user, await bind_manager(telegram, uow, user, name="Anna", email="a@firm.ru")


async def test_429_is_waited_out_or_rescheduled(
    telegram, fake_tg, uow, sessions, clock, anna, sleeps
):
    user, anna_id = anna
    sender = staff_sender(telegram, sessions, clock)
    fake_tg.fail("sendMessage", status=429, retry_after=3, chat_id=user.id)
    first = await queued(uow, anna_id, "a")
    assert await sender.run_once() == 1
    assert sleeps == [3]  # retry_after honoured inside the send, then it went
    assert (await row(uow, first)).status == NotificationStatus.SENT

    # Longer than the bot waits in place (60 s): the row is due again after retry_after.
    fake_tg.fail("sendMessage", status=429, retry_after=120, chat_id=user.id)
    second = await queued(uow, anna_id, "b")
    await sender.run_once()
    late = await row(uow, second)
    assert late.status == NotificationStatus.PENDING and "retry after 120" in late.last_error
    assert late.available_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    assert await sender.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert await sender.run_once() == 1
    assert (await row(uow, second)).status == NotificationStatus.SENT
    assert [c.text for c in fake_tg.of("sendMessage", user.id)][-2:] == ["hello a", "hello b"]


async def test_5xx_is_retried_with_backoff_then_given_up(
    telegram, fake_tg, uow, sessions, clock, anna
):
    from crm_core.notifications.service import MAX_ATTEMPTS

    user, anna_id = anna
    sender = staff_sender(telegram, sessions, clock)
    fake_tg.fail("sendMessage", status=502, chat_id=user.id, times=2)
    row_id = await queued(uow, anna_id, "x")
    await sender.run_once()
    assert (await row(uow, row_id)).available_at == clock.now() + timedelta(seconds=2)
    clock.advance(timedelta(seconds=2))
    await sender.run_once()
    assert (await row(uow, row_id)).available_at == clock.now() + timedelta(seconds=4)
    clock.advance(timedelta(seconds=4))
    await sender.run_once()
    done = await row(uow, row_id)
    assert done.status == NotificationStatus.SENT and done.attempts == 3
    assert len(fake_tg.of("sendMessage", user.id)) == 2  # greeting + one

    fake_tg.fail("sendMessage", status=500, chat_id=user.id, times=100)
    doomed = await queued(uow, anna_id, "y")
    for _attempt in range(MAX_ATTEMPTS):
        await sender.run_once()
        clock.advance(timedelta(minutes=10))
    gone = await row(uow, doomed)
    assert gone.status == NotificationStatus.FAILED and gone.attempts == MAX_ATTEMPTS


async def test_403_marks_the_employee_unreachable_and_the_api_shows_it(
    telegram, fake_tg, uow, sessions, clock, anna, api
):
    user, anna_id = anna
    sender = staff_sender(telegram, sessions, clock)
    fake_tg.fail("sendMessage", status=403, chat_id=user.id)
    row_id = await queued(uow, anna_id, "z")
    await sender.run_once()
    assert (await row(uow, row_id)).status == NotificationStatus.FAILED
    read = (await api.get(f"/employees/{anna_id}")).json()
    assert read["telegram_bound"] is True and read["telegram_unreachable"] is True
    # Not sent to again: the planners skip an unreachable employee.
    from bot.staff_plan import recipients

    async with uow() as s:
        employees, shared = await recipients(s, anna_id)
    assert employees == [] and shared is True


async def test_a_row_sent_late_says_so_in_the_employee_zone(
    telegram, fake_tg, uow, sessions, clock, anna
):
    user, anna_id = anna
    await queued(uow, anna_id, "r", due_at=clock.now())
    clock.advance(timedelta(minutes=6))
    await staff_sender(telegram, sessions, clock).run_once()
    text = fake_tg.last("sendMessage", user.id).text
    assert text == "hello r\n⚠️ С опозданием: должно было прийти в 02.03 10:00"


async def test_a_second_plan_of_one_thing_is_a_no_op(uow, anna):
    _user, anna_id = anna
    assert await queued(uow, anna_id, "same") is not None
    assert await queued(uow, anna_id, "same") is None
    async with uow() as s:
        assert len((await s.scalars(select(StaffNotification))).all()) == 1


def test_local_rate_spaces_slots():
    now = [100.0]
    rate = LocalRate(25, monotonic=lambda: now[0])
    waits = [rate.reserve() for _ in range(5)]
    assert waits == pytest.approx([0, 0.04, 0.08, 0.12, 0.16])
    now[0] += 1.0  # idle for a second: no debt is carried
    assert rate.reserve() == 0


async def test_redis_rate_is_shared_by_two_clients():
    key = f"test-{uuid.uuid4().hex[:8]}"
    one = RedisRate(REDIS_URL, bot_id=key, per_second=25)
    two = RedisRate(REDIS_URL, bot_id=key, per_second=25)
    try:
        try:
            await one.client.ping()
        except OSError:
            pytest.skip("no Redis at 127.0.0.1:6379")
        slots = []
        for _ in range(10):
            slots.append((await one.reserve())[0])
            slots.append((await two.reserve())[0])
        gaps = [b - a for a, b in itertools.pairwise(slots)]
        assert all(gap >= 40_000 for gap in gaps), gaps  # 25/s: 40 ms apart, whoever asks
        slot, at = await two.reserve()
        assert slot - slots[-1] >= 40_000 and slot >= at  # the wait the caller sleeps
    finally:
        await one.client.delete(one.key)
        await one.close()
        await two.close()


async def test_without_redis_the_sender_paces_itself_and_sends(
    telegram, fake_tg, uow, sessions, clock, anna
):
    user, anna_id = anna
    down = RedisRate("redis://127.0.0.1:1/0", bot_id="x", per_second=1000)
    try:
        await queued(uow, anna_id, "q")
        assert await staff_sender(telegram, sessions, clock, rate=down).run_once() == 1
    finally:
        await down.close()
    assert fake_tg.last("sendMessage", user.id).text == "hello q"
