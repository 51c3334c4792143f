"""The orders journal: filters, order, capped total."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from crm_core.errors import ValidationFailed
from crm_core.orders import journal
from crm_core.orders.service import change_order_state, list_orders
from tests.factories.commerce import make_buyer, make_order, state_of


async def test_filters_and_newest_first(session, clock):
    buyer = await make_buyer(session)
    old = await make_order(session, customer=buyer, date=clock.now() - timedelta(days=10))
    late = await make_order(session, due_at=clock.now() - timedelta(hours=1))
    new = await make_order(session, customer=buyer)
    await change_order_state(session, new.id, state_code="in_work")

    items, total = await list_orders(session)
    assert [o.id for o in items] == [new.id, late.id, old.id] and total == 3
    items, _ = await list_orders(session, customer_id=buyer.id)
    assert [o.id for o in items] == [new.id, old.id]
    items, _ = await list_orders(session, state_code="in_work")
    assert [o.id for o in items] == [new.id]
    in_work = await state_of(session, "in_work")
    items, _ = await list_orders(session, state_id=in_work.id)
    assert [o.id for o in items] == [new.id]
    items, _ = await list_orders(session, indicator="overdue")
    assert [o.id for o in items] == [late.id]
    items, _ = await list_orders(session, date_to=clock.now() - timedelta(days=1))
    assert [o.id for o in items] == [old.id]
    items, _ = await list_orders(session, date_from=clock.now())
    assert {o.id for o in items} == {new.id, late.id}
    items, _ = await list_orders(session, q=str(int(old.number[-6:])))
    assert [o.id for o in items] == [old.id]
    items, _ = await list_orders(session, q=late.number)
    assert [o.id for o in items] == [late.id]
    items, total = await list_orders(session, limit=1, offset=1)
    assert [o.id for o in items] == [late.id] and total == 3
    with pytest.raises(ValidationFailed):
        await list_orders(session, state_code="nope")


async def test_total_is_capped(session, monkeypatch):
    monkeypatch.setattr(journal, "COUNT_CAP", 2)
    buyer = await make_buyer(session)
    for _ in range(4):
        await make_order(session, customer=buyer)
    _, total = await list_orders(session, limit=1)
    assert total == 2
    items, total = await list_orders(session, limit=1, offset=3)
    assert len(items) == 1 and total == 4  # the page itself proves at least four


async def test_indicator_pages_walk_the_category_index(session, clock, db_backend):
    """SQLite once chose (category, due_at) and sorted half the table for the overdue
    page; the page and its capped count must walk (category, date, id, ...) instead."""
    if db_backend != "sqlite":
        pytest.skip("the plan is SQLite's; PostgreSQL is measured in bench/")
    await make_order(session, due_at=clock.now() - timedelta(hours=1))
    seen: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().startswith("SELECT") and "FROM orders" in statement:
            seen.append((statement, parameters))

    engine = session.bind.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for indicator in ("overdue", "on_time", "closed"):
            await list_orders(session, indicator=indicator)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    conn = await session.connection()
    assert len(seen) >= 6
    for statement, parameters in seen:
        plan = " | ".join(
            row[-1]
            for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
        assert "ix_orders_category_date" in plan, (statement, plan)
        assert "TEMP B-TREE" not in plan, (statement, plan)


async def test_sorted_by_amount_and_customer(session):
    anna, bella = await make_buyer(session, name="Анна"), await make_buyer(session, name="Белла")
    b1 = await make_order(session, customer=bella, total="300.00")
    a1 = await make_order(session, customer=anna, total="100.00")
    a2 = await make_order(session, customer=anna, total="300.00")

    async def ids(sort, **filters):
        items, total = await list_orders(session, sort=sort, **filters)
        assert total == len(items)
        return [o.id for o in items]

    assert await ids("amount") == [a1.id, b1.id, a2.id]  # equal totals by id
    assert await ids("-amount") == [a2.id, b1.id, a1.id]
    assert await ids("customer") == [a2.id, a1.id, b1.id]  # newest first per customer
    assert await ids("-customer") == [b1.id, a2.id, a1.id]
    assert await ids("date") == [b1.id, a1.id, a2.id]
    assert await ids("-date") == [a2.id, a1.id, b1.id]
    assert await ids("-amount", customer_id=anna.id) == [a2.id, a1.id]
    for bad in ("total", "amount desc", "", "-"):
        with pytest.raises(ValidationFailed):
            await list_orders(session, sort=bad)


async def test_amount_and_customer_sorts_walk_an_index(session, db_backend):
    """A page sorted by amount or customer must not sort every order (SQLite's plan;
    PostgreSQL is measured in bench/office.py over a million orders)."""
    if db_backend != "sqlite":
        pytest.skip("the plan is SQLite's; PostgreSQL is measured in bench/")
    await make_order(session)
    seen: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().startswith("SELECT orders.") and "ORDER BY" in statement:
            seen.append((statement, parameters))

    engine = session.bind.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for sort in ("amount", "-amount", "customer", "-customer"):
            await list_orders(session, sort=sort)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    conn = await session.connection()
    assert len(seen) == 4
    for statement, parameters in seen:
        plan = " | ".join(
            row[-1]
            for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
        assert "ix_orders_total_id" in plan or "ix_customers_name" in plan, (statement, plan)
        assert "TEMP B-TREE FOR ORDER BY" not in plan, (statement, plan)
