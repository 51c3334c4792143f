"""Payments of orders: idempotent by ``external_id``, never beyond the order's total.

A refund is a payment row with a negative amount (so every sum of payments — paid
amounts, the plan's actual, an invoice's paid status — nets it out by itself),
idempotent by its own ``external_id`` and never more than what was paid.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from crm_core.catalog.common import clean, to_decimal
from crm_core.context import now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import Invoice, Order, Payment, PaymentMethod, StateCategory
from crm_core.orders.common import ensure_open, lock_order
from crm_core.orders.figures import record_change, snapshot
from crm_core.orders.indicators import paid_percent
from crm_core.outbox.service import emit


async def _existing(session: AsyncSession, order_id: int, external_id: str) -> Payment | None:
    payment = await session.scalar(select(Payment).where(Payment.external_id == external_id))
    if payment is not None and payment.order_id != order_id:
        raise Conflict(
            f"Payment {external_id!r} is already recorded for another order", field="external_id"
        )
    return payment


def _method(value: PaymentMethod | str) -> PaymentMethod:
    try:
        return PaymentMethod(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in PaymentMethod)
        raise ValidationFailed(f"Payment method must be one of {allowed}", field="method") from exc


async def register_payment(
    session: AsyncSession,
    order_id: int,
    *,
    amount: Decimal,
    method: PaymentMethod | str,
    external_id: str | None = None,
    paid_at: datetime | None = None,
    invoice_id: int | None = None,
    comment: str | None = None,
) -> tuple[Payment, bool]:
    """Record a payment; the same ``external_id`` again returns the first one (created=False).

    Concurrent double posts: the unique ``payments.external_id`` settles the race; the
    loser's INSERT fails inside a savepoint and it returns the winner's payment. The
    INSERT runs before the paid_amount UPDATE so the loser never trips the overpayment
    check on the winner's money.
    """
    amount = to_decimal(amount, field="amount", places=2)
    if amount <= 0:
        raise ValidationFailed("The amount must be greater than 0", field="amount")
    method = _method(method)
    external_id = clean(external_id, field="external_id", max_length=200)
    if paid_at is not None and paid_at.tzinfo is None:
        raise ValidationFailed("paid_at needs a time zone offset", field="paid_at")
    if external_id and (found := await _existing(session, order_id, external_id)):
        return found, False
    order = await lock_order(session, order_id)
    # Again under the lock: a concurrent post of the same payment may have just committed.
    if external_id and (found := await _existing(session, order_id, external_id)):
        return found, False
    ensure_open(order, "take a payment")
    if invoice_id is not None:
        invoice = await session.get(Invoice, invoice_id)
        if invoice is None or invoice.order_id != order.id:
            raise ValidationFailed(
                f"Invoice {invoice_id} is not an invoice of order {order.number}",
                field="invoice_id",
            )
    left = order.total - order.paid_amount
    if amount > left:
        raise Conflict(f"payment {amount:.2f} exceeds the {left:.2f} left to pay", field="amount")
    at = now(session)
    payment = Payment(
        order_id=order.id,
        invoice_id=invoice_id,
        amount=amount,
        method=method,
        external_id=external_id,
        paid_at=paid_at or at,
        comment=clean(comment, field="comment", max_length=500),
        created_at=at,
    )
    try:
        async with session.begin_nested():
            session.add(payment)
            await session.flush()
            paid = await _add_paid(session, order, amount)
    except IntegrityError:
        if not external_id:
            raise
        found = await _existing(session, order_id, external_id)
        if found is None:
            raise
        return found, False
    emit(
        session,
        "payment.received",
        {
            "payment_id": payment.id,
            "order_id": order.id,
            "number": order.number,
            "customer_id": order.customer_id,
            "amount": amount,
            "method": method,
            "paid_amount": paid,
            "paid_percent": paid_percent(order),
        },
    )
    return payment, True


async def _add_paid(session: AsyncSession, order: Order, amount: Decimal) -> Decimal:
    """paid_amount += amount in one conditional UPDATE (no lost update, no overpayment)."""
    table = Order.__table__
    result = await session.execute(
        update(table)
        .where(
            table.c.id == order.id,
            table.c.paid_amount + amount <= table.c.total,
            table.c.category == StateCategory.OPEN.value,
        )
        .values(paid_amount=table.c.paid_amount + amount)
        .returning(table.c.paid_amount)
    )
    paid = result.scalar_one_or_none()
    if paid is None:
        current = await session.scalar(
            select(table.c.total - table.c.paid_amount).where(table.c.id == order.id)
        )
        raise Conflict(f"payment {amount:.2f} exceeds the {current:.2f} left to pay")
    before = snapshot(order)
    set_committed_value(order, "paid_amount", paid)
    await record_change(session, before, snapshot(order))  # fully paid now, maybe
    return paid


async def register_refund(
    session: AsyncSession,
    order_id: int,
    *,
    amount: Decimal,
    method: PaymentMethod | str | None = None,
    external_id: str | None = None,
    refunded_at: datetime | None = None,
    comment: str | None = None,
) -> tuple[Payment, bool]:
    """Return money paid for an order: ``paid_amount`` goes down by ``amount``.

    The same ``external_id`` again returns the first refund (created=False). Allowed in
    any state but cancelled (a cancelled order holds no money); the method defaults to
    that of the order's last payment. Emits ``payment.refunded``.
    """
    amount = to_decimal(amount, field="amount", places=2)
    if amount <= 0:
        raise ValidationFailed("The amount must be greater than 0", field="amount")
    external_id = clean(external_id, field="external_id", max_length=200)
    if refunded_at is not None and refunded_at.tzinfo is None:
        raise ValidationFailed("refunded_at needs a time zone offset", field="refunded_at")
    if external_id and (found := await _existing(session, order_id, external_id)):
        return found, False
    order = await lock_order(session, order_id)
    if external_id and (found := await _existing(session, order_id, external_id)):
        return found, False
    if method is None:
        last = await session.scalar(
            select(Payment.method)
            .where(Payment.order_id == order.id, Payment.amount > 0)
            .order_by(Payment.paid_at.desc(), Payment.id.desc())
            .limit(1)
        )
        if last is None:
            raise Conflict(f"Order {order.number} has no payments to refund")
        method = last
    method = _method(method)
    if amount > order.paid_amount:
        raise Conflict(
            f"refund {amount:.2f} exceeds the {order.paid_amount:.2f} paid", field="amount"
        )
    at = now(session)
    refund = Payment(
        order_id=order.id,
        amount=-amount,
        method=method,
        external_id=external_id,
        paid_at=refunded_at or at,
        comment=clean(comment, field="comment", max_length=500),
        created_at=at,
    )
    try:
        async with session.begin_nested():
            session.add(refund)
            await session.flush()
            paid = await _take_back(session, order, amount)
    except IntegrityError:
        if not external_id:
            raise
        found = await _existing(session, order_id, external_id)
        if found is None:
            raise
        return found, False
    emit(
        session,
        "payment.refunded",
        {
            "payment_id": refund.id,
            "order_id": order.id,
            "number": order.number,
            "customer_id": order.customer_id,
            "amount": amount,
            "method": method,
            "paid_amount": paid,
            "paid_percent": paid_percent(order),
        },
    )
    return refund, True


async def _take_back(session: AsyncSession, order: Order, amount: Decimal) -> Decimal:
    """paid_amount -= amount in one conditional UPDATE (never below zero)."""
    table = Order.__table__
    result = await session.execute(
        update(table)
        .where(
            table.c.id == order.id,
            table.c.paid_amount - amount >= 0,
            table.c.category != StateCategory.CANCELLED.value,
        )
        .values(paid_amount=table.c.paid_amount - amount)
        .returning(table.c.paid_amount)
    )
    paid = result.scalar_one_or_none()
    if paid is None:
        raise Conflict(f"refund {amount:.2f} exceeds what is paid for order {order.number}")
    before = snapshot(order)
    set_committed_value(order, "paid_amount", paid)
    await record_change(session, before, snapshot(order))  # no longer fully paid, maybe
    return paid


async def list_payments(
    session: AsyncSession, order_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[Payment], int]:
    """The order's payments, oldest first."""
    await get_or_404(session, Order, order_id, what="Order")
    total = await session.scalar(select(func.count()).where(Payment.order_id == order_id))
    rows = await session.scalars(
        select(Payment)
        .where(Payment.order_id == order_id)
        .order_by(Payment.paid_at, Payment.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
