"""Invoices for payment made from an order: numbered, lines copied, paid status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import clean, money, to_decimal
from crm_core.context import now
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import Invoice, InvoiceLine, Order, Payment, StateCategory
from crm_core.numbering import FIRM_TIMEZONE, INVOICE_SERIES, document_number
from crm_core.orders.common import lock_order
from crm_core.outbox.service import emit


@dataclass(frozen=True, slots=True)
class InvoicePaid:
    status: str  # "paid", "partially_paid", "unpaid"
    paid_amount: Decimal  # payments linked to this invoice


def _copy_lines(order: Order) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            position=i,
            product_id=line.product_id,
            name=line.name,
            unit=line.unit,
            quantity=line.quantity,
            price=line.price,
            discount_percent=line.discount_percent,
            vat_rate=line.vat_rate,
            amount=line.amount,
        )
        for i, line in enumerate(order.lines)
    ]


def _one_line(order: Order, amount: Decimal, timezone: str) -> InvoiceLine:
    """A single line for part of an order (a prepayment or the rest after payments)."""
    day = order.date.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y")
    if order.paid_amount == 0 and amount < order.total:
        what = "Предоплата"
    elif order.paid_amount > 0 and amount == order.total - order.paid_amount:
        what = "Доплата"
    else:
        what = "Оплата"
    rates = {line.vat_rate for line in order.lines}
    return InvoiceLine(
        position=0,
        product_id=None,
        name=f"{what} по заказу № {order.number} от {day}",
        unit="шт",
        quantity=Decimal(1),
        price=amount,
        discount_percent=Decimal(0),
        vat_rate=rates.pop() if len(rates) == 1 else None,
        amount=amount,
    )


async def create_invoice(
    session: AsyncSession,
    order_id: int,
    *,
    due_at: datetime | None = None,
    amount: Decimal | None = None,
    comment: str | None = None,
    timezone: str = FIRM_TIMEZONE,
) -> Invoice:
    """An invoice for all the order's lines, or one line for ``amount`` / the unpaid rest."""
    order = await lock_order(session, order_id, with_lines=True)
    if order.category == StateCategory.CANCELLED:
        raise Conflict(f"Order {order.number} is cancelled: no invoice for it")
    if due_at is not None and due_at.tzinfo is None:
        raise ValidationFailed("due_at needs a time zone offset", field="due_at")
    left = order.total - order.paid_amount
    if left <= 0:
        raise Conflict(f"Order {order.number} has nothing left to pay")
    if amount is not None:
        amount = to_decimal(amount, field="amount", places=2)
        if amount <= 0:
            raise ValidationFailed("The amount must be greater than 0", field="amount")
        if amount > left:
            raise Conflict(f"invoice {amount:.2f} exceeds the {left:.2f} left to pay")
    at = now(session)
    invoice = Invoice(
        number=await document_number(session, INVOICE_SERIES, at, timezone=timezone),
        date=at,
        order_id=order.id,
        customer_id=order.customer_id,
        due_at=due_at,
        comment=clean(comment, field="comment", max_length=500),
        created_at=at,
    )
    if amount is None and order.paid_amount == 0:
        invoice.lines = _copy_lines(order)
        invoice.total, invoice.vat_amount = order.total, order.vat_amount
    else:
        part = amount if amount is not None else left
        invoice.lines = [_one_line(order, part, timezone)]
        invoice.total = part
        # VAT in proportion: the order's VAT is inside its total, so inside each part.
        invoice.vat_amount = money(order.vat_amount * part / order.total)
    session.add(invoice)
    await session.flush()
    emit(
        session,
        "invoice.created",
        {"invoice_id": invoice.id, "order_id": order.id, "number": invoice.number},
    )
    return invoice


async def get_invoice(session: AsyncSession, invoice_id: int) -> Invoice:
    """One invoice with its lines."""
    invoice = await session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).options(selectinload(Invoice.lines))
    )
    if invoice is None:
        raise NotFound(f"Invoice {invoice_id} not found")
    return invoice


async def list_invoices(
    session: AsyncSession, order_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[Invoice], int]:
    """The order's invoices with lines, oldest first."""
    await get_or_404(session, Order, order_id, what="Order")
    total = await session.scalar(select(func.count()).where(Invoice.order_id == order_id))
    rows = await session.scalars(
        select(Invoice)
        .where(Invoice.order_id == order_id)
        .options(selectinload(Invoice.lines))
        .order_by(Invoice.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def invoice_paid(session: AsyncSession, invoice: Invoice) -> InvoicePaid:
    """Paid when the payments linked to it cover it, or the whole order is paid."""
    linked = await session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.invoice_id == invoice.id)
    )
    linked = money(linked or 0)
    order_total, order_paid = (
        await session.execute(
            select(Order.total, Order.paid_amount).where(Order.id == invoice.order_id)
        )
    ).one()
    if linked >= invoice.total or (order_total > 0 and order_paid >= order_total):
        return InvoicePaid("paid", linked)
    return InvoicePaid("partially_paid" if linked > 0 else "unpaid", linked)
