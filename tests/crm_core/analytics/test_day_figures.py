"""The funnel and the plan read ``order_day_figures``: after any sequence of order
operations through the services they must say what a count over the orders says.

The reference here is the direct computation the funnel made before the summary (one
GROUP BY over the orders of the period), kept in this file on purpose.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm_core.analytics.periods import day_bounds, day_start, money, next_month
from crm_core.analytics.service import plan_vs_actual, sales_funnel
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import (
    CustomerOrderMarks,
    Lead,
    Order,
    OrderDayFigure,
    OrderState,
    StateCategory,
)
from crm_core.orders import kinds
from crm_core.orders.figures import rebuild_order_figures
from crm_core.orders.service import (
    LineInput,
    add_order_line,
    change_order_state,
    create_order,
    get_order,
    register_payment,
    register_refund,
    remove_order_line,
    update_order,
)
from tests.factories.activity import make_employee, make_lead
from tests.factories.commerce import make_buyer

# Whole-hour, half-hour and 45-minute offsets, and a zone whose offset changes in March.
ZONES = ("Europe/Moscow", "UTC", "Asia/Kolkata", "America/New_York", "Pacific/Chatham")
START = datetime(2026, 3, 1, tzinfo=UTC)


async def direct_per_state(s, kind_id, lo, hi, responsible_id=None):
    """{state_id: (orders, amount)} counted over the orders themselves."""
    query = select(Order.state_id, func.count(), func.sum(Order.total)).where(
        Order.kind_id == kind_id, Order.date >= lo, Order.date < hi
    )
    if responsible_id is not None:
        query = query.where(Order.responsible_id == responsible_id)
    rows = await s.execute(query.group_by(Order.state_id))
    return {sid: (n, money(total)) for sid, n, total in rows}


async def direct_chain(s, lo, hi, responsible_id=None):
    """(leads, converted, ordered, paid) of the period's lead cohort, over the orders."""
    cohort = [Lead.created_at >= lo, Lead.created_at < hi]
    if responsible_id is not None:
        cohort.append(Lead.responsible_id == responsible_id)
    leads, converted = (
        await s.execute(select(func.count(Lead.id), func.count(Lead.customer_id)).where(*cohort))
    ).one()
    customers = select(Lead.customer_id).where(*cohort, Lead.customer_id.is_not(None))
    live = Order.customer_id.in_(customers) & (Order.category != StateCategory.CANCELLED)
    ordered = await s.scalar(select(func.count(func.distinct(Order.customer_id))).where(live))
    paid = await s.scalar(
        select(func.count(func.distinct(Order.customer_id))).where(
            live, Order.total > 0, Order.paid_amount >= Order.total
        )
    )
    return leads, converted, ordered, paid


async def direct_sold(s, lo, hi):
    """{responsible_id: (orders, amount)} of non-cancelled orders, over the orders."""
    query = (
        select(Order.responsible_id, func.count(), func.sum(Order.total))
        .where(Order.date >= lo, Order.date < hi, Order.category != StateCategory.CANCELLED)
        .group_by(Order.responsible_id)
    )
    return {e: (n, money(total)) for e, n, total in await s.execute(query)}


def _random_date(rng: random.Random) -> datetime:
    day = START + timedelta(days=rng.randrange(-3, 34))
    # Many orders right at the edges: UTC midnight, Moscow's (21:00 UTC) and around them.
    minute = rng.choice([0, 1, 21 * 60 - 1, 21 * 60, 24 * 60 - 1, rng.randrange(24 * 60)])
    return day + timedelta(minutes=minute, seconds=rng.choice([0, 0, 59]))


async def _random_operations(s, rng: random.Random, steps: int):
    staff = [await make_employee(s) for _ in range(3)]
    service = await kinds.create_order_kind(s, code="service", name="Сервис")
    default = await kinds.default_order_kind(s)
    states = {
        kind: list(await s.scalars(select(OrderState).where(OrderState.kind_id == kind)))
        for kind in (default.id, service.id)
    }
    buyers = [await make_buyer(s) for _ in range(8)]
    # Leads of the month, some converted into the buyers (several leads per buyer).
    for i in range(30):
        await make_lead(
            s,
            created_at=_random_date(rng),
            customer=rng.choice([None, *buyers]),
            responsible_id=rng.choice([None, staff[i % 3].id]),
        )
    orders: list[int] = []

    def amount() -> Decimal:
        return Decimal(rng.randrange(1, 500_000)) / 100

    def responsible():
        return rng.choice([None, *[e.id for e in staff]])

    for _ in range(steps):
        op = rng.choice(
            ["create"] * 4 + ["state"] * 3 + ["pay"] * 3 + ["responsible", "lines", "add", "remove"]
        )
        op = "refund" if op == "pay" and rng.random() < 0.25 else op
        if op == "create" or not orders:
            order = await create_order(
                s,
                customer_id=rng.choice(buyers).id,
                kind_id=rng.choice([None, service.id]),
                lines=[
                    LineInput(None, Decimal(rng.randrange(1, 4)), amount(), name="Работа")
                    for _ in range(rng.randrange(0, 3))
                ],
                date=_random_date(rng),
                responsible_id=responsible(),
            )
            orders.append(order.id)
            continue
        order_id = rng.choice(orders)
        order = await get_order(s, order_id)
        try:
            # A refused operation must leave the figures as they were: its savepoint goes.
            async with s.begin_nested():
                if op == "state":
                    state = rng.choice(states[order.kind_id])
                    await change_order_state(s, order_id, state_id=state.id)
                elif op == "responsible":
                    await update_order(s, order_id, responsible_id=responsible())
                elif op == "lines":
                    lines = [LineInput(None, Decimal(1), amount(), name="Новая")]
                    await update_order(s, order_id, lines=lines)
                elif op == "pay":
                    # Often all that is left, so orders become fully paid (and stop being
                    # so when a line is added, a refund comes or they are cancelled).
                    left = order.total - order.paid_amount
                    part = left if rng.random() < 0.6 else (left / 2).quantize(Decimal("0.01"))
                    await register_payment(s, order_id, amount=part, method="bank")
                elif op == "refund":
                    part = min(order.paid_amount, Decimal("10.00"))
                    await register_refund(s, order_id, amount=part)
                elif op == "add":
                    await add_order_line(
                        s, order_id, LineInput(None, Decimal(2), amount(), name="Ещё")
                    )
                elif order.lines:
                    await remove_order_line(s, order_id, rng.choice(order.lines).id)
        except (Conflict, ValidationFailed):
            pass  # closed orders refuse edits and payments, nothing is left to pay or refund
    return default.id, service.id, [e.id for e in staff]


async def _figures_table(s):
    rows = await s.execute(
        select(
            OrderDayFigure.kind_id,
            OrderDayFigure.day,
            OrderDayFigure.state_id,
            OrderDayFigure.responsible_id,
            OrderDayFigure.orders,
            OrderDayFigure.amount_kopecks,
        ).where((OrderDayFigure.orders != 0) | (OrderDayFigure.amount_kopecks != 0))
    )
    return sorted(tuple(r) for r in rows)


async def test_figures_after_random_operations_equal_the_orders(session):
    rng = random.Random(20261203)
    *kind_ids, staff = await _random_operations(session, rng, 260)
    assert await session.scalar(select(func.count(Order.id))) > 60
    periods = [
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 2, 20), date(2026, 4, 10)),
        (date(2026, 3, 8), date(2026, 3, 8)),  # one day: no whole UTC day in some zones
        (date(2026, 3, 1), date(2026, 3, 2)),
    ]
    periods += [
        (a, a + timedelta(days=rng.randrange(0, 12)))
        for a in (date(2026, 3, 1) + timedelta(days=rng.randrange(30)) for _ in range(4))
    ]
    checked = chained = 0
    for zone in ZONES:
        for date_from, date_to in periods:
            lo, hi = day_bounds(date_from, date_to, zone)
            for kind_id in kind_ids:
                for responsible_id in (None, *staff):
                    funnel = await sales_funnel(
                        session,
                        date_from=date_from,
                        date_to=date_to,
                        kind_id=kind_id,
                        responsible_id=responsible_id,
                        timezone=zone,
                    )
                    expected = await direct_per_state(session, kind_id, lo, hi, responsible_id)
                    got = {r.id: (r.count, r.amount) for r in funnel.states if r.count}
                    assert got == expected, (zone, date_from, date_to, kind_id, responsible_id)
                    chain = tuple(stage.count for stage in funnel.conversion)
                    assert chain == await direct_chain(session, lo, hi, responsible_id)
                    chained += chain[3]
                    checked += sum(n for n, _ in expected.values())
        plan = await plan_vs_actual(session, period="2026-03", timezone=zone)
        lo = day_start(date(2026, 3, 1), zone)
        hi = day_start(next_month(date(2026, 3, 1)), zone)
        expected = await direct_sold(session, lo, hi)
        got = {r.employee_id: (r.orders, r.actual) for r in plan.rows if r.orders}
        assert got == expected, zone
    assert checked > 1000 and chained > 50  # the comparisons saw orders, not empty periods
    paid_orders = select(func.count(Order.id)).where(
        Order.total > 0, Order.paid_amount >= Order.total, Order.category != "cancelled"
    )
    assert await session.scalar(paid_orders) > 5

    # The rows kept by the services are those a rebuild from the orders makes.
    kept = await _figures_table(session), await _marks_table(session)
    await rebuild_order_figures(session)
    assert (await _figures_table(session), await _marks_table(session)) == kept


async def _marks_table(s):
    rows = await s.execute(
        select(
            CustomerOrderMarks.customer_id,
            CustomerOrderMarks.live_orders,
            CustomerOrderMarks.paid_orders,
        ).where((CustomerOrderMarks.live_orders != 0) | (CustomerOrderMarks.paid_orders != 0))
    )
    return sorted(tuple(r) for r in rows)


async def test_rebuild_makes_the_figures_of_orders_written_around_the_services(session):
    buyer = await make_buyer(session)
    order = await create_order(
        session,
        customer_id=buyer.id,
        lines=[LineInput(None, Decimal(1), Decimal("10.05"), name="x")],
        date=datetime(2026, 3, 5, 23, 59, tzinfo=UTC),
    )
    # A bulk load (or a hand-made UPDATE) bypasses the services: the figures go stale …
    order.total = Decimal("99.99")
    await session.flush()
    f = await sales_funnel(session, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert f.amount == Decimal("10.05")
    # … until they are rebuilt.
    assert await rebuild_order_figures(session) == 1
    f = await sales_funnel(session, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert f.amount == Decimal("99.99") and f.count == 1
    [row] = await _figures_table(session)
    assert row[1:] == (date(2026, 3, 5), order.state_id, 0, 1, 9999)
