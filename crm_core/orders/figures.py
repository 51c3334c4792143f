"""Keeping the orders' summaries true: every order change adds its deltas there.

Two summaries, both read by the funnel and the plan instead of the orders:

- ``order_day_figures``: an order counts in one row, (UTC day of ``date``, kind, state,
  responsible), with one order and its total.
- ``customer_order_marks``: per customer, its live (not cancelled) orders and, of
  those, the fully paid ones (``paid_amount >= total > 0``).

A service takes ``snapshot(order)`` before it changes an order and hands it with the
snapshot after to ``record_change`` in the same transaction (a new order has no
"before"). The deltas go in as upserts (``INSERT … ON CONFLICT DO UPDATE SET orders =
orders + excluded.orders``), so two transactions touching one row never lose an
update: on PostgreSQL the second waits for the first's row lock and adds to its
result; SQLite has one writer at a time. Keys are written in sorted order, so two
transactions moving orders between the same rows take their locks in the same order.
Inside a savepoint, a rolled-back change takes its deltas with it.

``rebuild_order_figures`` recomputes both from the orders (after a bulk load, or to
check them); migration 0011 does the same once.
"""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, case, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import NOBODY, CustomerOrderMarks, Order, OrderDayFigure, StateCategory


class Figure(NamedTuple):
    """Where one order counts in the day figures and with how much."""

    kind_id: int
    day: date
    state_id: int
    responsible_id: int
    kopecks: int


class Snapshot(NamedTuple):
    """What of an order its summaries hold."""

    figure: Figure
    customer_id: int
    live: bool
    fully_paid: bool


def kopecks(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def figure_of(order: Order) -> Figure:
    """The day-figures row ``order`` counts in, as it is now."""
    return Figure(
        order.kind_id,
        order.date.astimezone(UTC).date(),
        order.state_id,
        order.responsible_id if order.responsible_id is not None else NOBODY,
        kopecks(order.total),
    )


def snapshot(order: Order) -> Snapshot:
    """The order as its summaries see it now."""
    live = order.category != StateCategory.CANCELLED
    paid = live and order.total > 0 and order.paid_amount >= order.total
    return Snapshot(figure_of(order), order.customer_id, live, paid)


def _figure_deltas(before: Figure | None, after: Figure | None) -> dict[tuple, list[int]]:
    deltas: dict[tuple, list[int]] = {}
    for figure, sign in ((before, -1), (after, 1)):
        if figure is not None:
            delta = deltas.setdefault(figure[:4], [0, 0])
            delta[0] += sign
            delta[1] += sign * figure.kopecks
    return {key: d for key, d in deltas.items() if d != [0, 0]}


def _mark_deltas(before: Snapshot | None, after: Snapshot | None) -> dict[int, list[int]]:
    deltas: dict[int, list[int]] = {}
    for shot, sign in ((before, -1), (after, 1)):
        if shot is not None:
            delta = deltas.setdefault(shot.customer_id, [0, 0])
            delta[0] += sign * shot.live
            delta[1] += sign * shot.fully_paid
    return {key: d for key, d in deltas.items() if d != [0, 0]}


def _insert(session: AsyncSession):
    return (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert


async def _add(session: AsyncSession, table, keys: list[str], counts: list[str], rows) -> None:
    statement = _insert(session)(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: table.c[c] + statement.excluded[c] for c in counts},
    )
    await session.execute(statement)


async def record_figures(
    session: AsyncSession, before: Figure | None, after: Figure | None
) -> None:
    """Move one order's count and total from the row of ``before`` to that of ``after``."""
    deltas = _figure_deltas(before, after)
    if deltas:
        rows = [
            {
                "kind_id": key[0],
                "day": key[1],
                "state_id": key[2],
                "responsible_id": key[3],
                "orders": n,
                "amount_kopecks": amount,
            }
            for key, (n, amount) in sorted(deltas.items())
        ]
        keys = ["kind_id", "day", "state_id", "responsible_id"]
        await _add(session, OrderDayFigure.__table__, keys, ["orders", "amount_kopecks"], rows)


async def record_change(
    session: AsyncSession, before: Snapshot | None, after: Snapshot | None
) -> None:
    """Bring both summaries from ``before`` to ``after`` of one order (None: no order)."""
    await record_figures(
        session,
        before.figure if before is not None else None,
        after.figure if after is not None else None,
    )
    marks = _mark_deltas(before, after)
    if marks:
        rows = [
            {"customer_id": customer, "live_orders": live, "paid_orders": paid}
            for customer, (live, paid) in sorted(marks.items())
        ]
        await _add(
            session,
            CustomerOrderMarks.__table__,
            ["customer_id"],
            ["live_orders", "paid_orders"],
            rows,
        )


async def record_state_cancelled(session: AsyncSession, state_id: int, *, cancelled: bool) -> None:
    """A state's category moved into (``cancelled``) or out of the cancelled one: its
    orders stop or start being live, with their fully paid ones; the customers' marks
    follow in the same transaction, set-wise (a state may hold many orders). The day
    figures are keyed by state, not category, so they stay as they are."""
    sign = -1 if cancelled else 1
    paid = case((and_(Order.total > 0, Order.paid_amount >= Order.total), 1), else_=0)
    counts = await session.execute(
        select(Order.customer_id, func.count(), func.sum(paid))
        .where(Order.state_id == state_id)
        .group_by(Order.customer_id)
        .order_by(Order.customer_id)
    )
    rows = [
        {"customer_id": customer, "live_orders": sign * n, "paid_orders": sign * int(p or 0)}
        for customer, n, p in counts
    ]
    for start in range(0, len(rows), 1000):
        await _add(
            session,
            CustomerOrderMarks.__table__,
            ["customer_id"],
            ["live_orders", "paid_orders"],
            rows[start : start + 1000],
        )


def rebuild_sql(dialect: str) -> list[str]:
    """INSERT … SELECTs that fill the empty summaries from the orders."""
    day = (
        "(orders.date AT TIME ZONE 'UTC')::date" if dialect == "postgresql" else "date(orders.date)"
    )
    live = "category <> 'cancelled'"
    return [
        "INSERT INTO order_day_figures "
        "(kind_id, day, state_id, responsible_id, orders, amount_kopecks) "
        f"SELECT kind_id, {day}, state_id, coalesce(responsible_id, {NOBODY}), count(*), "
        "coalesce(sum(CAST(round(total * 100) AS BIGINT)), 0) "
        f"FROM orders GROUP BY kind_id, {day}, state_id, coalesce(responsible_id, {NOBODY})",
        "INSERT INTO customer_order_marks (customer_id, live_orders, paid_orders) "
        f"SELECT customer_id, sum(CASE WHEN {live} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {live} AND total > 0 AND paid_amount >= total THEN 1 ELSE 0 END) "
        "FROM orders GROUP BY customer_id",
    ]


async def rebuild_order_figures(session: AsyncSession) -> int:
    """Recompute the orders' summaries from the orders; the day-figure rows written."""
    dialect = session.bind.dialect.name
    if dialect == "postgresql":
        # Writers of the summaries (ROW EXCLUSIVE) wait until this transaction ends, and
        # it waits for those in flight: what it reads then holds their changes, and a
        # change not yet committed adds its delta on top of the rebuilt rows afterwards.
        await session.execute(
            text("LOCK TABLE order_day_figures, customer_order_marks IN EXCLUSIVE MODE")
        )
    await session.execute(delete(OrderDayFigure))
    await session.execute(delete(CustomerOrderMarks))
    for statement in rebuild_sql(dialect):
        await session.execute(text(statement))
    return await session.scalar(select(func.count()).select_from(OrderDayFigure)) or 0


__all__ = [
    "Figure",
    "Snapshot",
    "figure_of",
    "kopecks",
    "rebuild_order_figures",
    "rebuild_sql",
    "record_change",
    "record_figures",
    "record_state_cancelled",
    "snapshot",
]
