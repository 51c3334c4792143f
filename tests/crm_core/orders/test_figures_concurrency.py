"""Two PostgreSQL transactions touching the same day's figures: the second waits for the
first's row lock and adds to its result, so no update is lost."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from crm_core.analytics.service import sales_funnel
from crm_core.models import NOBODY, Order, OrderDayFigure
from crm_core.orders.figures import Figure, record_figures
from crm_core.orders.kinds import default_order_kind
from crm_core.orders.service import LineInput, change_order_state, create_order
from tests.factories.commerce import make_buyer, make_order, state_of

DAY = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgresql_only(db_backend):
    if db_backend != "postgresql":
        pytest.skip("row locks of concurrent transactions: PostgreSQL (SQLite has one writer)")


async def _waiting_for_a_lock(engine) -> None:
    """Until a backend of this database waits for a lock in an upsert of the day
    figures (60 s at most: the machine may be loaded)."""
    async with engine.connect() as conn:
        for _ in range(3000):
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND query LIKE 'INSERT INTO order_day_figures%'"
                )
            )
            if waiting:
                return
            # pg_stat_activity is read once per transaction: end it to look again.
            await conn.rollback()
            await asyncio.sleep(0.02)
        seen = (
            await conn.execute(
                text(
                    "SELECT state, wait_event_type, wait_event, left(query, 60) "
                    "FROM pg_stat_activity WHERE datname = current_database()"
                )
            )
        ).all()
    raise AssertionError(f"the second transaction never waited for the first: {seen}")


async def _row(uow, kind_id, state_id, responsible_id=NOBODY):
    async with uow() as s:
        return (
            await s.execute(
                select(OrderDayFigure.orders, OrderDayFigure.amount_kopecks).where(
                    OrderDayFigure.kind_id == kind_id,
                    OrderDayFigure.day == date(2026, 3, 10),
                    OrderDayFigure.state_id == state_id,
                    OrderDayFigure.responsible_id == responsible_id,
                )
            )
        ).one_or_none()


async def test_two_inserts_of_a_new_day_both_count(engine, uow):
    async with uow() as s:
        kind = await default_order_kind(s)
        new = await state_of(s, "new")
    figure = Figure(kind.id, date(2026, 3, 10), new.id, NOBODY, 0)
    async with uow() as first:
        await record_figures(first, None, figure._replace(kopecks=10_000))

        async def second():
            async with uow() as s:
                await record_figures(s, None, figure._replace(kopecks=2_550))

        # The row does not exist yet: the second INSERT waits on the first's key, then
        # takes the ON CONFLICT branch once the first commits.
        task = asyncio.create_task(second())
        await _waiting_for_a_lock(engine)
        assert not task.done()
    await task
    assert await _row(uow, kind.id, new.id) == (2, 12_550)


async def test_state_changes_of_one_day_in_two_transactions(engine, uow):
    async with uow() as s:
        a = await make_order(s, total="100.00", date=DAY)
        b = await make_order(s, total="250.00", date=DAY)
        c = await make_order(s, total="40.00", date=DAY)
        await change_order_state(s, c.id, state_code="in_work")
        kind = await default_order_kind(s)
        new, in_work = await state_of(s, "new"), await state_of(s, "in_work")
    assert await _row(uow, kind.id, new.id) == (2, 35_000)
    async with uow() as first:
        # a: new → in_work while b goes in_work ← new in the other transaction, and c back:
        # both touch the same two rows, in opposite directions.
        await change_order_state(first, a.id, state_code="in_work")

        async def second():
            async with uow() as s:
                await change_order_state(s, c.id, state_code="new")
                await change_order_state(s, b.id, state_code="in_work")

        task = asyncio.create_task(second())
        await _waiting_for_a_lock(engine)
        assert not task.done()
    await asyncio.wait_for(task, 30)
    assert await _row(uow, kind.id, new.id) == (1, 4_000)
    assert await _row(uow, kind.id, in_work.id) == (2, 35_000)


async def test_many_concurrent_orders_are_all_counted(engine, uow):
    async with uow() as s:
        buyers = [await make_buyer(s) for _ in range(4)]
    rng = random.Random(7)
    plans = [[Decimal(rng.randrange(100, 99_999)) / 100 for _ in range(4)] for _ in range(6)]

    async def worker(prices):
        for price in prices:
            async with uow() as s:
                order = await create_order(
                    s,
                    customer_id=rng.choice(buyers).id,
                    lines=[LineInput(None, Decimal(1), price, name="Работа")],
                    date=DAY,
                )
                if price > 500:
                    await change_order_state(s, order.id, state_code="in_work")

    await asyncio.gather(*(worker(p) for p in plans))
    async with uow() as s:
        funnel = await sales_funnel(s, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
        total = await s.scalar(select(func.sum(Order.total)))
    assert funnel.count == 24
    assert funnel.amount == total == sum(sum(p) for p in plans)
    assert {r.code: r.count for r in funnel.states if r.count} == {
        "new": sum(1 for p in plans for x in p if x <= 500),
        "in_work": sum(1 for p in plans for x in p if x > 500),
    }
