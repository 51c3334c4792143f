"""Helpers the order use cases share: locking an order, the customer's counters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from crm_core.errors import Conflict, NotFound
from crm_core.models import Customer, Order, StateCategory


async def lock_order(session: AsyncSession, order_id: int, *, with_lines: bool = False) -> Order:
    """The order, fresh from the database and locked for this transaction.

    PostgreSQL: ``SELECT ... FOR UPDATE`` (concurrent changes of one order queue here).
    SQLite: the transaction already holds the write lock (``BEGIN IMMEDIATE``).
    """
    options = [selectinload(Order.state)]
    if with_lines:
        options.append(selectinload(Order.lines))
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(*options)
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    return order


def ensure_open(order: Order, action: str) -> None:
    """Completed and cancelled orders are closed for payments, shipments and edits."""
    if order.category == StateCategory.CANCELLED:
        raise Conflict(f"Order {order.number} is cancelled: cannot {action}")
    if order.category == StateCategory.COMPLETED:
        raise Conflict(f"Order {order.number} is completed: cannot {action}")


async def bump_customer(
    session: AsyncSession,
    customer_id: int,
    *,
    orders: int = 0,
    spent: Decimal = Decimal(0),
    order_date: datetime | None = None,
) -> None:
    """Adjust the customer's denormalised ``orders_count``, ``total_spent``, ``last_order_at``.

    One UPDATE with increments (no read-modify-write race between two orders of one
    customer); written around the ORM so it does not clutter the customer's history.
    ``orders_count``/``total_spent`` count non-cancelled orders and their totals.
    """
    table = Customer.__table__
    values: dict = {
        "orders_count": table.c.orders_count + orders,
        "total_spent": table.c.total_spent + spent,
    }
    if order_date is not None:
        at = literal(order_date, type_=table.c.last_order_at.type)
        values["last_order_at"] = case(
            (table.c.last_order_at.is_(None), at),
            (table.c.last_order_at < at, at),
            else_=table.c.last_order_at,
        )
    result = await session.execute(
        update(table)
        .where(table.c.id == customer_id)
        .values(**values)
        .returning(table.c.orders_count, table.c.total_spent, table.c.last_order_at)
    )
    row = result.one_or_none()
    customer = session.identity_map.get(identity_key(Customer, customer_id))
    if customer is not None and row is not None:
        set_committed_value(customer, "orders_count", row[0])
        set_committed_value(customer, "total_spent", row[1])
        set_committed_value(customer, "last_order_at", row[2])


def counts_for_customer(category: StateCategory) -> bool:
    """Whether an order in this category counts in the customer's orders and total."""
    return category != StateCategory.CANCELLED
