"""Customer orders: create, change, move between states, list; payments and shipments.

The public interface of the orders area; payments, shipments and indicators live in
their own modules and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import clean
from crm_core.catalog.groups import default_price_kind
from crm_core.context import now
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.history import list_history
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import (
    Customer,
    Employee,
    HistoryEntry,
    Order,
    OrderKind,
    OrderState,
    PriceKind,
    StateCategory,
)
from crm_core.numbering import FIRM_TIMEZONE, ORDER_SERIES, document_number
from crm_core.orders.common import bump_customer, counts_for_customer, ensure_open, lock_order
from crm_core.orders.figures import record_change, snapshot
from crm_core.orders.indicators import (
    indicator_filter,
    indicator_of,
    is_done,
    paid_percent,
    shipped_percent,
)
from crm_core.orders.journal import COUNT_CAP, list_orders
from crm_core.orders.kinds import default_order_kind, initial_state
from crm_core.orders.lines import LineInput, apply_totals, build_lines
from crm_core.orders.payments import list_payments, register_payment, register_refund
from crm_core.orders.shipments import list_shipments, register_shipment
from crm_core.outbox.service import emit

__all__ = [
    "COUNT_CAP",
    "LineInput",
    "add_order_line",
    "change_order_state",
    "create_order",
    "get_order",
    "get_order_by_external_id",
    "indicator_filter",
    "indicator_of",
    "is_done",
    "list_orders",
    "list_payments",
    "list_shipments",
    "order_history",
    "paid_percent",
    "register_payment",
    "register_refund",
    "register_shipment",
    "remove_order_line",
    "shipped_percent",
    "update_order",
]


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone offset", field=field)
    return value


async def _price_kind(session: AsyncSession, price_kind_id: int | None) -> PriceKind | None:
    if price_kind_id is not None:
        return await require_ref(
            session, PriceKind, price_kind_id, field="price_kind_id", what="Price kind"
        )
    return await default_price_kind(session)


async def create_order(
    session: AsyncSession,
    *,
    customer_id: int,
    lines: Sequence[LineInput] = (),
    kind_id: int | None = None,
    due_at: datetime | None = None,
    channel: str = "manual",
    responsible_id: int | None = None,
    comment: str | None = None,
    price_kind_id: int | None = None,
    external_id: str | None = None,
    date: datetime | None = None,
    delivery_address: str | None = None,
    timezone: str = FIRM_TIMEZONE,
) -> Order:
    """A new order in its kind's initial state; a repeated ``external_id`` is a Conflict."""
    await require_ref(session, Customer, customer_id, field="customer_id", what="Customer")
    if kind_id is not None:
        kind = await require_ref(session, OrderKind, kind_id, field="kind_id", what="Order kind")
        if not kind.active:
            raise ValidationFailed(f"Order kind {kind.name!r} is inactive", field="kind_id")
    else:
        kind = await default_order_kind(session)
    state = await initial_state(session, kind.id)
    price_kind = await _price_kind(session, price_kind_id)
    await require_ref(session, Employee, responsible_id, field="responsible_id", what="Employee")
    external_id = clean(external_id, field="external_id", max_length=100)
    if external_id and await get_order_by_external_id(session, external_id):
        raise Conflict(f"An order with external_id {external_id!r} already exists")
    at = now(session)
    date = _aware(date, "date") or at
    built = await build_lines(session, lines, price_kind)
    order = Order(
        number=await document_number(session, ORDER_SERIES, date, timezone=timezone),
        date=date,
        customer_id=customer_id,
        kind_id=kind.id,
        state_id=state.id,
        category=state.category,
        price_kind_id=price_kind.id if price_kind else None,
        paid_amount=Decimal(0),
        shipped_amount=Decimal(0),
        due_at=_aware(due_at, "due_at"),
        channel=clean(channel, field="channel", max_length=30) or "manual",
        responsible_id=responsible_id,
        comment=clean(comment, field="comment", max_length=10000),
        delivery_address=clean(delivery_address, field="delivery_address", max_length=500),
        external_id=external_id,
        created_at=at,
        updated_at=at,
    )
    order.lines = built
    order.state = state
    apply_totals(order)
    session.add(order)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same external_id won
        raise Conflict(f"An order with external_id {external_id!r} already exists") from exc
    await bump_customer(session, customer_id, orders=1, spent=order.total, order_date=date)
    await record_change(session, None, snapshot(order))
    emit(
        session,
        "order.created",
        {
            "order_id": order.id,
            "number": order.number,
            "customer_id": customer_id,
            "total": order.total,
            "channel": order.channel,
            "responsible_id": responsible_id,
        },
    )
    return order


async def get_order(session: AsyncSession, order_id: int) -> Order:
    """One order with its state and lines."""
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.state), selectinload(Order.lines))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    return order


async def get_order_by_external_id(session: AsyncSession, external_id: str) -> Order | None:
    """The order a store or a channel created with this id, if any."""
    return await session.scalar(select(Order).where(Order.external_id == external_id))


async def _replace_lines(
    session: AsyncSession, order: Order, lines: Sequence[LineInput], price_kind: PriceKind | None
) -> None:
    ensure_open(order, "change its lines")
    if order.shipped_amount > 0 or any(line.shipped_quantity > 0 for line in order.lines):
        raise Conflict(f"Order {order.number} has shipments: its lines cannot be replaced")
    built = await build_lines(session, lines, price_kind)
    old_total = order.total
    order.lines = built
    apply_totals(order)
    if order.paid_amount > order.total:
        raise Conflict(
            f"Order {order.number} is paid {order.paid_amount:.2f}, "
            f"more than the new total {order.total:.2f}"
        )
    if counts_for_customer(order.category):
        await bump_customer(session, order.customer_id, spent=order.total - old_total)


async def update_order(session: AsyncSession, order_id: int, **fields: Any) -> Order:
    """Change due date, comment, responsible, address, price kind; ``lines`` replace all."""
    order = await lock_order(session, order_id, with_lines=True)
    before = snapshot(order)
    if "due_at" in fields:
        order.due_at = _aware(fields["due_at"], "due_at")
    if "comment" in fields:
        order.comment = clean(fields["comment"], field="comment", max_length=10000)
    if "delivery_address" in fields:
        order.delivery_address = clean(
            fields["delivery_address"], field="delivery_address", max_length=500
        )
    if "responsible_id" in fields:
        await require_ref(
            session, Employee, fields["responsible_id"], field="responsible_id", what="Employee"
        )
        order.responsible_id = fields["responsible_id"]
    if fields.get("price_kind_id") is not None:
        # Existing lines keep their prices (a snapshot); new lines take the new kind's.
        order.price_kind_id = (await _price_kind(session, fields["price_kind_id"])).id
    if fields.get("lines") is not None:
        price_kind = (
            await session.get(PriceKind, order.price_kind_id) if order.price_kind_id else None
        )
        await _replace_lines(session, order, fields["lines"], price_kind)
    order.updated_at = now(session)
    await session.flush()
    await record_change(session, before, snapshot(order))
    return await get_order(session, order_id)


async def add_order_line(session: AsyncSession, order_id: int, line: LineInput) -> Order:
    """Append one line to an open order."""
    order = await lock_order(session, order_id, with_lines=True)
    ensure_open(order, "change its lines")
    before = snapshot(order)
    price_kind = await session.get(PriceKind, order.price_kind_id) if order.price_kind_id else None
    position = max((x.position for x in order.lines), default=-1) + 1
    [built] = await build_lines(session, [line], price_kind, first_position=position, field="line")
    old_total = order.total
    order.lines.append(built)
    apply_totals(order)
    if counts_for_customer(order.category):
        await bump_customer(session, order.customer_id, spent=order.total - old_total)
    order.updated_at = now(session)
    await session.flush()
    await record_change(session, before, snapshot(order))
    return await get_order(session, order_id)


async def remove_order_line(session: AsyncSession, order_id: int, line_id: int) -> Order:
    """Remove an unshipped line from an open order (not below what is already paid)."""
    order = await lock_order(session, order_id, with_lines=True)
    ensure_open(order, "change its lines")
    line = next((x for x in order.lines if x.id == line_id), None)
    if line is None:
        raise NotFound(f"Line {line_id} of order {order.number} not found")
    if line.shipped_quantity > 0:
        raise Conflict(f"Line {line.name!r} is already shipped: it cannot be removed")
    before = snapshot(order)
    old_total = order.total
    order.lines.remove(line)
    apply_totals(order)
    if order.paid_amount > order.total:
        raise Conflict(
            f"Order {order.number} is paid {order.paid_amount:.2f}, "
            f"more than the new total {order.total:.2f}"
        )
    if counts_for_customer(order.category):
        await bump_customer(session, order.customer_id, spent=order.total - old_total)
    order.updated_at = now(session)
    await session.flush()
    await record_change(session, before, snapshot(order))
    return await get_order(session, order_id)


async def _target_state(
    session: AsyncSession, order: Order, state_id: int | None, state_code: str | None
) -> OrderState:
    if (state_id is None) == (state_code is None):
        raise ValidationFailed("Give either state_id or state", field="state_id")
    if state_id is not None:
        state = await session.get(OrderState, state_id)
        if state is None:
            raise ValidationFailed(f"State {state_id} does not exist", field="state_id")
        if state.kind_id != order.kind_id:
            raise ValidationFailed(
                f"State {state.name!r} belongs to another order kind", field="state_id"
            )
    else:
        state = await session.scalar(
            select(OrderState).where(
                OrderState.kind_id == order.kind_id, OrderState.code == state_code
            )
        )
        if state is None:
            raise ValidationFailed(f"The order's kind has no state {state_code!r}", field="state")
    if not state.active:
        raise ValidationFailed(f"State {state.name!r} is inactive", field="state_id")
    return state


async def change_order_state(
    session: AsyncSession,
    order_id: int,
    *,
    state_id: int | None = None,
    state_code: str | None = None,
) -> Order:
    """Move an order to another state of its kind; cancelling a paid order is a Conflict."""
    order = await lock_order(session, order_id)  # concurrent changes of one order queue
    state = await _target_state(session, order, state_id, state_code)
    previous = order.state
    if state.id == previous.id:
        return await get_order(session, order_id)
    if state.category == StateCategory.CANCELLED and order.paid_amount > 0:
        raise Conflict(
            f"Order {order.number} has payments of {order.paid_amount:.2f}: "
            "refund them before cancelling it"
        )
    was_counted = counts_for_customer(order.category)
    before = snapshot(order)
    order.state_id = state.id
    order.state = state
    order.category = state.category
    order.closed_at = None if state.category == StateCategory.OPEN else now(session)
    order.updated_at = now(session)
    await session.flush()
    await record_change(session, before, snapshot(order))
    if was_counted != counts_for_customer(state.category):
        sign = 1 if not was_counted else -1
        await bump_customer(session, order.customer_id, orders=sign, spent=sign * order.total)
    emit(
        session,
        "order.state_changed",
        {
            "order_id": order.id,
            "number": order.number,
            "customer_id": order.customer_id,
            "from_state": previous.code,
            "to_state": state.code,
            "to_state_name": state.name,
            "category": state.category,
        },
    )
    return await get_order(session, order_id)


async def order_history(
    session: AsyncSession, order_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """The order's change history, oldest first (404 for an unknown order)."""
    await get_or_404(session, Order, order_id, what="Order")
    condition = (HistoryEntry.entity_type == "order") & (HistoryEntry.entity_id == order_id)
    total = await session.scalar(select(func.count(HistoryEntry.id)).where(condition))
    items = await list_history(
        session, entity_type="order", entity_id=order_id, limit=limit, offset=offset
    )
    return items, total or 0
