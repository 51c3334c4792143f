"""Old reserve rows go (pushes, settled staff messages), recent ones and the ones a
redelivery may still need stay, and no push is doubled after a cleanup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cleanup import MIN_KEEP_DAYS, ReserveCleanup
from bot.notify import bot_subscribers
from crm_core.cart.pushes import SENT, finish_push, reserve_push
from crm_core.customers.service import create_customer
from crm_core.employees.service import create_employee
from crm_core.models import OutboxEvent, OutboxStatus, StaffNotification, TelegramPush
from crm_core.notifications.service import mark_sent, plan
from crm_core.orders.service import change_order_state
from crm_core.outbox import OutboxRelay
from tests.factories.commerce import make_order

PURGED = 9_000_000  # outbox ids of events already purged: no row left


class Flaky(Exception):
    """Another subscriber of the event keeps failing: the outbox retries the event."""


async def _pushed_move(uow, relay: OutboxRelay, order_id: int, state: str) -> int:
    async with uow() as s:
        await change_order_state(s, order_id, state_code=state)
    async with uow() as s:
        event_id = await s.scalar(
            select(OutboxEvent.id)
            .where(OutboxEvent.topic == "order.state_changed")
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        )
    while await relay.run_once():
        pass
    return event_id


async def _staff_row(s, employee_id: int, key: str, *, sent: bool, event_id=None) -> int:
    row = await plan(
        s,
        key=key,
        employee_id=employee_id,
        chat_id=800001,
        topic="lead.created",
        text=key,
        outbox_event_id=event_id,
    )
    if sent:
        await mark_sent(s, row, message_id=1)
    return row


async def _left(uow) -> tuple[set[int], set[str]]:
    async with uow() as s:
        pushes = set(await s.scalars(select(TelegramPush.event_id)))
        staff = set(await s.scalars(select(StaffNotification.key)))
    return pushes, staff


async def test_old_rows_go_recent_stay_and_no_push_is_doubled(
    telegram, fake_tg, ivan, uow, sessions, clock
):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer)
        manager = await create_employee(s, name="Anna", email="anna@firm.ru")
    pushes = bot_subscribers(telegram.bot, sessions, clock=clock)

    async def flaky(_event) -> None:
        raise Flaky

    relay = OutboxRelay(sessions, pushes, clock=clock)
    failing = OutboxRelay(
        sessions, {"order.state_changed": [*pushes["order.state_changed"], flaky]}, clock=clock
    )

    # Forty days ago: a delivered event, a purged one, one its outbox still retries.
    done = await _pushed_move(uow, relay, order.id, "in_work")
    live = await _pushed_move(uow, failing, order.id, "new")
    async with uow() as s:
        assert await reserve_push(s, event_id=PURGED, telegram_id=ivan.id, customer_id=None)
        await finish_push(s, event_id=PURGED, telegram_id=ivan.id, status=SENT)
        await _staff_row(s, manager.id, "old-sent", sent=True)
        await _staff_row(s, manager.id, "old-pending", sent=False)  # still to send
        await _staff_row(s, manager.id, "old-live", sent=True, event_id=live)
        await _staff_row(s, manager.id, "old-done", sent=True, event_id=done)
    assert len(fake_tg.of("sendMessage", ivan.id)) == 2

    clock.advance(timedelta(days=40))
    recent = PURGED + 1  # a push of today (no relay run: the live event stays pending)
    async with uow() as s:
        assert await reserve_push(s, event_id=recent, telegram_id=ivan.id, customer_id=None)
        await _staff_row(s, manager.id, "recent-sent", sent=True)
        assert (await s.get(OutboxEvent, live)).status == OutboxStatus.PENDING

    cleanup = ReserveCleanup(sessions, clock=clock, keep_days=30, batch_size=2)
    swept = await cleanup.run_once()
    assert (swept.pushes, swept.staff) == (2, 2)
    pushes_left, staff_left = await _left(uow)
    assert pushes_left == {live, recent}
    assert staff_left == {"old-pending", "old-live", "recent-sent"}
    assert (await cleanup.run_once()).total == 0  # nothing more to do

    # The retried event is delivered at last: its push went out 40 days ago, once.
    sent_before = len(fake_tg.of("sendMessage", ivan.id))
    while await relay.run_once():
        pass
    async with uow() as s:
        assert (await s.get(OutboxEvent, live)).status == OutboxStatus.DONE
    assert len(fake_tg.of("sendMessage", ivan.id)) == sent_before == 2


async def test_batches_and_the_cutoff(uow, sessions, clock):
    """Rows past the cutoff go in batches of ``batch_size``; a row exactly at the
    cutoff stays, one second later it goes."""
    start = clock.now()
    async with uow() as s:
        for n in range(5):
            await reserve_push(s, event_id=PURGED + n, telegram_id=1, customer_id=None)
    clock.advance(timedelta(seconds=2))
    async with uow() as s:
        await reserve_push(s, event_id=PURGED + 99, telegram_id=1, customer_id=None)

    clock.set(start + timedelta(days=30, seconds=1))
    swept = await ReserveCleanup(sessions, clock=clock, batch_size=2).run_once()
    assert (swept.pushes, swept.batches) == (5, 3)
    assert (await _left(uow))[0] == {PURGED + 99}
    clock.advance(timedelta(seconds=1))  # the young one is now exactly 30 days old
    assert (await ReserveCleanup(sessions, clock=clock).run_once()).pushes == 0
    clock.advance(timedelta(seconds=1))
    assert (await ReserveCleanup(sessions, clock=clock).run_once()).pushes == 1


@pytest.mark.parametrize("bad", [{"keep_days": 0}, {"keep_days": -30}, {"batch_size": 0}])
def test_a_cleanup_that_would_forget_too_much_is_refused(sessions, bad):
    with pytest.raises(ValueError):
        ReserveCleanup(sessions, **bad)
    with pytest.raises(ValueError):
        ReserveCleanup(sessions, keep_days=MIN_KEEP_DAYS - 1)


async def test_the_staff_desk_runs_the_cleanup(telegram, sessions, clock):
    from bot.staff_desk import StaffDesk
    from bot.staff_rate import LocalRate

    desk = StaffDesk(
        telegram.bot, sessions, office_url="http://x", rate=LocalRate(10), clock=clock, keep_days=45
    )
    assert desk.cleanup.keep == timedelta(days=45)
    assert desk.cleanup.clock is clock
