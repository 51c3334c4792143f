"""The order indicator, table-driven against a frozen clock, in Python and in SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.models import Order, OrderIndicator, StateCategory
from crm_core.orders.indicators import indicator_filter, indicator_of, paid_percent, shipped_percent
from crm_core.orders.service import change_order_state, register_payment, register_shipment
from tests.factories.commerce import make_order

DAY = timedelta(days=1)
Ind = OrderIndicator

# (due in days from now or None, shipped?, paid?, final state code, expected)
CASES = [
    ("no due date", None, False, False, None, Ind.ON_TIME),
    ("before due", 1, False, False, None, Ind.ON_TIME),
    ("after due", -1, False, False, None, Ind.OVERDUE),
    ("after due, shipped only", -1, True, False, None, Ind.OVERDUE),
    ("after due, paid only", -1, False, True, None, Ind.OVERDUE),
    ("after due, shipped and paid", -1, True, True, None, Ind.ON_TIME),
    ("completed after due", -1, False, False, "completed", Ind.CLOSED),
    ("cancelled after due", -1, False, False, "cancelled", Ind.CANCELLED),
    ("cancelled before due", 1, False, False, "cancelled", Ind.CANCELLED),
]


@pytest.mark.parametrize(
    ("due_days", "shipped", "paid", "final", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_indicator(session, clock, due_days, shipped, paid, final, expected):
    due = None if due_days is None else clock.now() + 2 * DAY
    order = await make_order(session, total="1000.00", due_at=due)
    if shipped:
        await register_shipment(session, order.id)
    if paid:
        await register_payment(session, order.id, amount=Decimal("1000.00"), method="cash")
    if final:
        order = await change_order_state(session, order.id, state_code=final)
    if due_days is not None:
        clock.set(due - due_days * DAY)  # the check happens a day before or after the due date
    assert indicator_of(order, clock.now()) == expected
    # The SQL filter picks exactly the same orders.
    for indicator in OrderIndicator:
        found = await session.scalar(
            select(Order.id).where(Order.id == order.id, indicator_filter(indicator, clock.now()))
        )
        assert (found is not None) == (indicator == expected), indicator


async def test_due_exactly_now_is_on_time(session, clock):
    order = await make_order(session, due_at=clock.now())
    assert indicator_of(order, clock.now()) == Ind.ON_TIME
    assert indicator_of(order, clock.now() + timedelta(seconds=1)) == Ind.OVERDUE


async def test_percents_are_floored(session):
    order = await make_order(session, total="3.00")
    await register_payment(session, order.id, amount=Decimal("1.99"), method="cash")
    assert paid_percent(order) == 66
    await register_payment(session, order.id, amount=Decimal("1.00"), method="cash")
    assert paid_percent(order) == 99  # 2.99 of 3.00 is not yet 100
    await register_payment(session, order.id, amount=Decimal("0.01"), method="cash")
    assert paid_percent(order) == 100
    assert shipped_percent(order) == 0


def test_a_zero_total_counts_as_nothing_done():
    order = Order(total=Decimal(0), paid_amount=Decimal(0), shipped_amount=Decimal(0))
    order.category = StateCategory.OPEN
    assert paid_percent(order) == 0 and shipped_percent(order) == 0
