"""What the office journal asks of the core: oldest-first order and the names of a page."""

from __future__ import annotations

from datetime import timedelta

from crm_core.orders.journal import journal_names, list_orders
from tests.factories.commerce import make_buyer, make_order
from tests.factories.people import make_employee


async def test_oldest_first(session, clock):
    old = await make_order(session, date=clock.now() - timedelta(days=3))
    new = await make_order(session)
    items, total = await list_orders(session, newest_first=False)
    assert [o.id for o in items] == [old.id, new.id] and total == 2
    items, _ = await list_orders(session, newest_first=False, limit=1, offset=1)
    assert [o.id for o in items] == [new.id]


async def test_journal_names_in_two_queries(session):
    manager = await make_employee(session, name="Мария")
    first = await make_buyer(session, name="Первый")
    second = await make_buyer(session, name="Второй")
    orders = [
        await make_order(session, customer=first, responsible_id=manager.id),
        await make_order(session, customer=second),
        await make_order(session, customer=first),
    ]
    customers, employees = await journal_names(session, orders)
    assert customers == {first.id: "Первый", second.id: "Второй"}
    assert employees == {manager.id: "Мария"}
    assert await journal_names(session, []) == ({}, {})
