"""Keeping ``order_day_figures`` true: every order change adds its deltas there.

An order counts in one row: (UTC day of ``date``, kind, state, responsible) with one
order and its total. A service takes ``figure_of(order)`` before it changes an order and
hands it with the one after to ``record_figures`` in the same transaction; a new order
has no "before". The deltas go in as one upsert (``INSERT … ON CONFLICT DO UPDATE SET
orders = orders + excluded.orders``), so two transactions touching one day never lose an
update: on PostgreSQL the second waits for the first's row lock and adds to its result;
SQLite has one writer at a time. Keys are written in sorted order, so two transactions
that each move orders between the same two rows take their locks in the same order.

``rebuild_order_figures`` recomputes the table from the orders (after a bulk load, or
to check it); migration 0011 does the same once.
"""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import NOBODY, Order, OrderDayFigure


class Figure(NamedTuple):
    """Where one order counts and with how much."""

    kind_id: int
    day: date
    state_id: int
    responsible_id: int
    kopecks: int


def kopecks(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def figure_of(order: Order) -> Figure:
    """The row ``order`` counts in, as it is now."""
    return Figure(
        order.kind_id,
        order.date.astimezone(UTC).date(),
        order.state_id,
        order.responsible_id if order.responsible_id is not None else NOBODY,
        kopecks(order.total),
    )


def _deltas(before: Figure | None, after: Figure | None) -> dict[tuple, list[int]]:
    deltas: dict[tuple, list[int]] = {}
    for figure, sign in ((before, -1), (after, 1)):
        if figure is not None:
            delta = deltas.setdefault(figure[:4], [0, 0])
            delta[0] += sign
            delta[1] += sign * figure.kopecks
    return {key: d for key, d in deltas.items() if d != [0, 0]}


def _insert(session: AsyncSession):
    return (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert


async def record_figures(
    session: AsyncSession, before: Figure | None, after: Figure | None
) -> None:
    """Move one order's count and total from the row of ``before`` to that of ``after``."""
    deltas = _deltas(before, after)
    if not deltas:
        return
    table = OrderDayFigure.__table__
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
    statement = _insert(session)(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.kind_id, table.c.day, table.c.state_id, table.c.responsible_id],
        set_={
            "orders": table.c.orders + statement.excluded.orders,
            "amount_kopecks": table.c.amount_kopecks + statement.excluded.amount_kopecks,
        },
    )
    await session.execute(statement)


def utc_day_sql(dialect: str) -> str:
    """SQL for the UTC day of ``orders.date`` (SQLite keeps it as naive UTC text)."""
    if dialect == "postgresql":
        return "(orders.date AT TIME ZONE 'UTC')::date"
    return "date(orders.date)"


def rebuild_sql(dialect: str) -> str:
    """One INSERT … SELECT that fills an empty ``order_day_figures`` from the orders."""
    day = utc_day_sql(dialect)
    return (
        "INSERT INTO order_day_figures "
        "(kind_id, day, state_id, responsible_id, orders, amount_kopecks) "
        f"SELECT kind_id, {day}, state_id, coalesce(responsible_id, {NOBODY}), count(*), "
        "coalesce(sum(CAST(round(total * 100) AS BIGINT)), 0) "
        f"FROM orders GROUP BY kind_id, {day}, state_id, coalesce(responsible_id, {NOBODY})"
    )


async def rebuild_order_figures(session: AsyncSession) -> int:
    """Recompute ``order_day_figures`` from the orders; the number of rows written."""
    dialect = session.bind.dialect.name
    if dialect == "postgresql":
        # Writers of the figures (ROW EXCLUSIVE) wait until this transaction ends, and it
        # waits for those in flight: what it reads then already holds their changes, and
        # a change not yet committed adds its delta on top of the rebuilt rows afterwards.
        await session.execute(text("LOCK TABLE order_day_figures IN EXCLUSIVE MODE"))
    await session.execute(delete(OrderDayFigure))
    await session.execute(text(rebuild_sql(dialect)))
    return await session.scalar(select(func.count()).select_from(OrderDayFigure)) or 0


__all__ = [
    "Figure",
    "figure_of",
    "kopecks",
    "rebuild_order_figures",
    "rebuild_sql",
    "record_figures",
    "utc_day_sql",
]
