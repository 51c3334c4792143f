"""Shipments of orders: what left the firm, line by line; goods leave the stock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import clean, money, to_decimal
from crm_core.catalog.service import adjust_stock
from crm_core.context import now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import Order, OrderLine, Product, ProductKind, Shipment, ShipmentLine
from crm_core.orders.common import ensure_open, lock_order
from crm_core.orders.indicators import shipped_percent
from crm_core.outbox.service import emit


def _shipped_value(line: OrderLine, quantity: Decimal) -> Decimal:
    """The part of the line's amount that ``quantity`` shipped units are worth."""
    if quantity >= line.quantity:
        return line.amount
    return money(line.amount * quantity / line.quantity)


def _plan(
    order: Order, lines: Sequence[tuple[int, Decimal]] | None
) -> list[tuple[OrderLine, Decimal]]:
    """(order line, quantity) pairs to ship; None means everything not shipped yet."""
    if lines is None:
        plan = [(x, x.quantity - x.shipped_quantity) for x in order.lines]
        return [(x, q) for x, q in plan if q > 0]
    by_id = {x.id: x for x in order.lines}
    wanted: dict[int, Decimal] = {}
    for i, (line_id, quantity) in enumerate(lines):
        if line_id not in by_id:
            raise ValidationFailed(
                f"Line {line_id} is not a line of order {order.number}",
                field=f"lines.{i}.order_line_id",
            )
        q = to_decimal(quantity, field=f"lines.{i}.quantity", places=3)
        if q <= 0:
            raise ValidationFailed("Quantity must be greater than 0", field=f"lines.{i}.quantity")
        wanted[line_id] = wanted.get(line_id, Decimal(0)) + q
    plan = []
    for line_id, q in wanted.items():
        line = by_id[line_id]
        left = line.quantity - line.shipped_quantity
        if q > left:
            raise Conflict(
                f"Cannot ship {q.normalize():f} of {line.name!r}: "
                f"only {left.normalize():f} left to ship"
            )
        plan.append((line, q))
    return plan


async def register_shipment(
    session: AsyncSession,
    order_id: int,
    *,
    lines: Sequence[tuple[int, Decimal]] | None = None,
    external_id: str | None = None,
    shipped_at: datetime | None = None,
    comment: str | None = None,
) -> Shipment:
    """Ship some lines (``(order_line_id, quantity)``), or all that is left when None.

    Services count as shipped (rendered) too; goods leave the stock. A repeated
    ``external_id`` returns the shipment already recorded.
    """
    external_id = clean(external_id, field="external_id", max_length=200)
    if shipped_at is not None and shipped_at.tzinfo is None:
        raise ValidationFailed("shipped_at needs a time zone offset", field="shipped_at")
    order = await lock_order(session, order_id, with_lines=True)  # shipments of one order queue
    if external_id:
        found = await session.scalar(
            select(Shipment)
            .where(Shipment.external_id == external_id)
            .options(selectinload(Shipment.lines))
        )
        if found is not None:
            if found.order_id != order.id:
                raise Conflict(f"Shipment {external_id!r} belongs to another order")
            return found
    ensure_open(order, "ship it")
    plan = _plan(order, lines)
    if not plan:
        raise Conflict(f"Order {order.number} has nothing left to ship")
    kinds = dict(
        (
            await session.execute(
                select(Product.id, Product.kind).where(
                    Product.id.in_({x.product_id for x, _ in plan if x.product_id})
                )
            )
        ).all()
    )
    at = now(session)
    shipment = Shipment(
        order_id=order.id,
        amount=Decimal(0),
        external_id=external_id,
        shipped_at=shipped_at or at,
        comment=clean(comment, field="comment", max_length=500),
        created_at=at,
    )
    shipment.lines = []
    taken: dict[int, Decimal] = {}
    for line, quantity in plan:
        # Value by difference of cumulative values: the parts add up to the line exactly.
        before = _shipped_value(line, line.shipped_quantity)
        after = _shipped_value(line, line.shipped_quantity + quantity)
        line.shipped_quantity += quantity
        shipment.lines.append(
            ShipmentLine(order_line_id=line.id, quantity=quantity, amount=after - before)
        )
        if line.product_id and kinds.get(line.product_id) == ProductKind.GOODS:
            taken[line.product_id] = taken.get(line.product_id, Decimal(0)) + quantity
    # In product id order: two shipments sharing products lock them in one order (no deadlock).
    for product_id in sorted(taken):
        await adjust_stock(session, product_id, -taken[product_id])
    shipment.amount = money(sum((x.amount for x in shipment.lines), Decimal(0)))
    order.shipped_amount = money(order.shipped_amount + shipment.amount)
    order.updated_at = at
    session.add(shipment)
    await session.flush()
    emit(
        session,
        "shipment.registered",
        {
            "shipment_id": shipment.id,
            "order_id": order.id,
            "number": order.number,
            "customer_id": order.customer_id,
            "amount": shipment.amount,
            "shipped_percent": shipped_percent(order),
        },
    )
    return shipment


async def list_shipments(
    session: AsyncSession, order_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[Shipment], int]:
    """The order's shipments with their lines, oldest first."""
    await get_or_404(session, Order, order_id, what="Order")
    total = await session.scalar(select(func.count()).where(Shipment.order_id == order_id))
    rows = await session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order_id)
        .options(selectinload(Shipment.lines))
        .order_by(Shipment.shipped_at, Shipment.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
