"""Order numbers: per year of the firm's calendar, distinct and consecutive under races."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from crm_core.numbering import next_number, year_of
from crm_core.orders.service import create_order
from tests.factories.commerce import make_buyer


async def test_sequences_are_per_series_and_year(session):
    assert [await next_number(session, "order", 2026) for _ in range(3)] == [1, 2, 3]
    assert await next_number(session, "order", 2027) == 1
    assert await next_number(session, "invoice", 2026) == 1


def test_year_in_the_firm_time_zone():
    new_year_moscow = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)  # 00:30 on 1 Jan in Moscow
    assert year_of(new_year_moscow) == 2027
    assert year_of(new_year_moscow, "UTC") == 2026


async def test_order_numbers_per_year(session):
    buyer = await make_buyer(session)
    a = await create_order(session, customer_id=buyer.id, date=datetime(2026, 5, 1, tzinfo=UTC))
    b = await create_order(session, customer_id=buyer.id, date=datetime(2026, 5, 2, tzinfo=UTC))
    c = await create_order(
        session, customer_id=buyer.id, date=datetime(2026, 12, 31, 22, tzinfo=UTC)
    )
    assert (a.number, b.number, c.number) == ("ЗК-2026-000001", "ЗК-2026-000002", "ЗК-2027-000001")


async def test_concurrent_orders_get_distinct_consecutive_numbers(uow):
    async with uow() as s:
        buyer_id = (await make_buyer(s)).id

    async def one() -> str:
        async with uow() as s:
            return (await create_order(s, customer_id=buyer_id)).number

    numbers = await asyncio.gather(*(one() for _ in range(8)))
    assert sorted(numbers) == [f"ЗК-2026-{n:06d}" for n in range(1, 9)]
