"""Telegram Payments: each charge Telegram reports is settled here exactly once.

By the time ``successful_payment`` arrives the customer's money is taken. If the core
can still take it (the order is open and the amount is what is left to pay) it becomes
a payment; if not — the order was closed or changed after the invoice, the payload
names no order of this customer — the charge is kept as ``needs_attention``, and the
managers hear of it through the outbox (``payment.needs_attention``). Either way the
charge is never lost, and the charge id makes a redelivered update a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import DomainError
from crm_core.models import Order, StateCategory, TelegramCharge
from crm_core.orders.payments import register_payment
from crm_core.orders.service import get_order
from crm_core.outbox.service import emit

REGISTERED, NEEDS_ATTENTION = "registered", "needs_attention"
CURRENCY = "RUB"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    charge: TelegramCharge
    order_number: str | None
    created: bool  # False: this charge was settled before (a redelivered update)

    @property
    def registered(self) -> bool:
        return self.charge.status == REGISTERED


def left_to_pay(order: Order) -> Decimal:
    """What an open order still waits for; nothing for a completed or cancelled one."""
    if order.category != StateCategory.OPEN:
        return Decimal(0)
    return order.total - order.paid_amount


async def _number(session: AsyncSession, order_id: int | None) -> str | None:
    if order_id is None:
        return None
    return await session.scalar(select(Order.number).where(Order.id == order_id))


async def settle_telegram_charge(
    session: AsyncSession,
    *,
    charge_id: str,
    provider_charge_id: str | None,
    telegram_id: int,
    payload: str,
    order_id: int | None,
    customer_id: int | None,
    amount_minor: int,
    currency: str,
) -> ChargeResult:
    """Register a Telegram charge as a payment of ``order_id`` or keep it for a person.

    ``order_id`` is None when the payload names no order of this customer (the bot checks
    ownership). Idempotent by ``charge_id``."""
    found = await session.scalar(
        select(TelegramCharge).where(TelegramCharge.charge_id == charge_id)
    )
    if found is not None:
        return ChargeResult(found, await _number(session, found.order_id), created=False)
    amount = (Decimal(amount_minor) / 100).quantize(Decimal("0.01"))
    order = None
    if order_id is not None:
        try:
            order = await get_order(session, order_id)
        except DomainError:
            order = None
    problem = _problem(order, amount, currency)
    payment_id = None
    if problem is None:
        try:
            async with session.begin_nested():
                payment, _created = await register_payment(
                    session,
                    order.id,
                    amount=amount,
                    method="telegram",
                    external_id=f"telegram:{charge_id}",
                )
                payment_id = payment.id
        except DomainError as exc:  # closed or changed between the check and the lock
            problem = str(exc)
    charge = TelegramCharge(
        charge_id=charge_id[:255],
        provider_charge_id=(provider_charge_id or None) and provider_charge_id[:255],
        telegram_id=telegram_id,
        payload=payload[:128],
        order_id=order.id if order is not None else None,
        customer_id=customer_id,
        payment_id=payment_id,
        amount=amount,
        currency=currency[:3],
        status=REGISTERED if problem is None else NEEDS_ATTENTION,
        reason=problem,
        created_at=now(session),
    )
    try:
        async with session.begin_nested():
            session.add(charge)
            await session.flush()
    except IntegrityError:  # the same charge settled concurrently: that one stands
        found = await session.scalar(
            select(TelegramCharge).where(TelegramCharge.charge_id == charge_id)
        )
        return ChargeResult(found, await _number(session, found.order_id), created=False)
    number = order.number if order is not None else None
    if problem is not None:
        emit(
            session,
            "payment.needs_attention",
            {
                "telegram_charge_id": charge.id,
                "charge_id": charge_id,
                "order_id": charge.order_id,
                "number": number,
                "customer_id": customer_id,
                "telegram_id": telegram_id,
                "amount": amount,
                "currency": charge.currency,
                "reason": problem,
            },
        )
    return ChargeResult(charge, number, created=True)


def _problem(order: Order | None, amount: Decimal, currency: str) -> str | None:
    if order is None:
        return "the invoice payload names no order of this customer"
    if currency != CURRENCY:
        return f"charged in {currency}, orders are in {CURRENCY}"
    left = left_to_pay(order)
    if left <= 0:
        return f"order {order.number} is no longer payable ({order.state.name})"
    if amount != left:
        return f"charged {amount:.2f}, but {left:.2f} is left to pay on order {order.number}"
    return None


async def charges_needing_attention(session: AsyncSession) -> list[TelegramCharge]:
    """Charges taken by Telegram that no payment stands for yet, oldest first."""
    rows = await session.scalars(
        select(TelegramCharge)
        .where(TelegramCharge.status == NEEDS_ATTENTION, TelegramCharge.resolved_at.is_(None))
        .order_by(TelegramCharge.id)
    )
    return list(rows)
