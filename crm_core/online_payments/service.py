"""Online payments: remember a payment created at the provider for an order, and apply
what the provider (verified by the channel) says happened to it — exactly once.

The channel verifies a notification (source address, a fresh read of the payment
from the provider's API); this module trusts only what the channel hands it as
``VerifiedPayment`` and still checks it against the order: the order exists, the
currency is ours, the amount is the one we asked for and not more than is left.
Every notification is kept with its outcome, so one naming an unknown order is
answered "received" (the provider stops retrying) and stays visible to people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import OnlinePayment, Order, PaymentMethod, PaymentNotification
from crm_core.orders.payments import register_payment, register_refund

CURRENCY = "RUB"


class Outcome:
    """What became of a notification."""

    REGISTERED = "registered"  # a payment (or a refund) was recorded on the order
    DUPLICATE = "duplicate"  # the payment had been recorded before (a retry, a replay)
    UNKNOWN_ORDER = "unknown_order"  # no such order: kept for a person to settle
    MISMATCH = "mismatch"  # the notification disagrees with the provider's API
    REJECTED = "rejected"  # the order refused it (closed, overpaid, wrong currency)
    STATUS = "status"  # a status change only (canceled, waiting, a pending refund)


@dataclass(frozen=True)
class VerifiedPayment:
    """A payment as the provider's API reported it (not as the notification claimed)."""

    provider: str
    event: str
    object_id: str
    status: str
    amount: Decimal | None
    currency: str | None
    order_id: int | None
    paid: bool = False
    paid_at: datetime | None = None
    payment_id: str | None = None  # for a refund: the payment it returns


async def get_online_payment(
    session: AsyncSession, provider: str, payment_id: str
) -> OnlinePayment | None:
    return await session.scalar(
        select(OnlinePayment).where(
            OnlinePayment.provider == provider, OnlinePayment.payment_id == payment_id
        )
    )


async def record_online_payment(
    session: AsyncSession,
    *,
    provider: str,
    payment_id: str,
    order_id: int,
    amount: Decimal,
    currency: str,
    status: str,
    confirmation_url: str | None,
    idempotence_key: str,
) -> OnlinePayment:
    """Remember a payment the provider created for an order (idempotent by its id)."""
    found = await get_online_payment(session, provider, payment_id)
    at = now(session)
    if found is not None:
        found.status, found.updated_at = status, at
        found.confirmation_url = confirmation_url or found.confirmation_url
        return found
    row = OnlinePayment(
        provider=provider,
        payment_id=payment_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        status=status,
        confirmation_url=confirmation_url,
        idempotence_key=idempotence_key,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    await session.flush()
    return row


async def open_payment_for(
    session: AsyncSession, provider: str, order_id: int, amount: Decimal
) -> OnlinePayment | None:
    """A still-pending payment of this order and amount: its link is reused, not doubled."""
    return await session.scalar(
        select(OnlinePayment)
        .where(
            OnlinePayment.provider == provider,
            OnlinePayment.order_id == order_id,
            OnlinePayment.amount == amount,
            OnlinePayment.status == "pending",
        )
        .order_by(OnlinePayment.id.desc())
        .limit(1)
    )


def _note(
    session: AsyncSession,
    payment: VerifiedPayment,
    outcome: str,
    message: str | None,
    payload: dict[str, Any],
    order_id: int | None,
) -> PaymentNotification:
    row = PaymentNotification(
        provider=payment.provider,
        event=payment.event[:50],
        object_id=payment.object_id[:100],
        status=(payment.status or "")[:30] or None,
        order_id=order_id,
        amount=payment.amount,
        currency=(payment.currency or "")[:3] or None,
        outcome=outcome,
        message=message,
        payload=payload,
        received_at=now(session),
    )
    session.add(row)
    return row


async def record_mismatch(
    session: AsyncSession, payment: VerifiedPayment, message: str, payload: dict[str, Any]
) -> PaymentNotification:
    """Keep a notification that disagreed with the provider's API; nothing is applied."""
    order_id = await _existing_order_id(session, payment.order_id)
    row = _note(session, payment, Outcome.MISMATCH, message, payload, order_id)
    await session.flush()
    return row


async def _existing_order_id(session: AsyncSession, order_id: int | None) -> int | None:
    if order_id is None:
        return None
    return await session.scalar(select(Order.id).where(Order.id == order_id))


async def apply_verified_payment(
    session: AsyncSession, payment: VerifiedPayment, payload: dict[str, Any]
) -> PaymentNotification:
    """Apply a verified notification: a succeeded payment is registered on its order once
    (by the provider's payment id); other events update the status. Returns the record."""
    order_id = await _existing_order_id(session, payment.order_id)
    online = None
    if payment.event.startswith("refund.") and payment.payment_id:
        refunded = await get_online_payment(session, payment.provider, payment.payment_id)
        order_id = refunded.order_id if refunded is not None else None
    if payment.event.startswith("payment."):
        online = await get_online_payment(session, payment.provider, payment.object_id)
        if online is not None:
            online.status, online.updated_at = payment.status, now(session)
    if payment.event == "refund.succeeded" and order_id is not None:
        return await _apply_refund(session, payment, payload, order_id)
    if payment.event != "payment.succeeded":
        row = _note(session, payment, Outcome.STATUS, None, payload, order_id)
        await session.flush()
        return row
    if order_id is None:
        message = f"Order {payment.order_id} not found" if payment.order_id else "No order id"
        row = _note(session, payment, Outcome.UNKNOWN_ORDER, message, payload, None)
        await session.flush()
        return row
    problem = _check(payment, online, order_id)
    if problem:
        row = _note(session, payment, Outcome.REJECTED, problem, payload, order_id)
        await session.flush()
        return row
    try:
        async with session.begin_nested():
            core, created = await register_payment(
                session,
                order_id,
                amount=payment.amount,
                method=PaymentMethod.ONLINE,
                external_id=f"{payment.provider}:{payment.object_id}",
                paid_at=payment.paid_at,
                comment=f"{payment.provider} {payment.object_id}",
            )
    except (Conflict, ValidationFailed) as exc:
        row = _note(session, payment, Outcome.REJECTED, exc.message, payload, order_id)
        await session.flush()
        return row
    if online is not None:
        online.core_payment_id = core.id
    outcome = Outcome.REGISTERED if created else Outcome.DUPLICATE
    row = _note(session, payment, outcome, None, payload, order_id)
    await session.flush()
    return row


async def _apply_refund(
    session: AsyncSession, payment: VerifiedPayment, payload: dict[str, Any], order_id: int
) -> PaymentNotification:
    """A succeeded refund of a payment we registered: money back off the order, once."""
    problem = None
    if payment.status != "succeeded":
        problem = f"Refund status is {payment.status!r}, not succeeded"
    elif payment.currency != CURRENCY:
        problem = f"Currency {payment.currency!r} is not {CURRENCY}"
    elif payment.amount is None or payment.amount <= 0:
        problem = "No amount"
    if problem is None:
        try:
            async with session.begin_nested():
                _, created = await register_refund(
                    session,
                    order_id,
                    amount=payment.amount,
                    method=PaymentMethod.ONLINE,
                    external_id=f"{payment.provider}:refund:{payment.object_id}",
                    refunded_at=payment.paid_at,
                    comment=f"{payment.provider} refund {payment.object_id}",
                )
        except (Conflict, ValidationFailed) as exc:
            problem = exc.message
    if problem is not None:
        row = _note(session, payment, Outcome.REJECTED, problem, payload, order_id)
    else:
        outcome = Outcome.REGISTERED if created else Outcome.DUPLICATE
        row = _note(session, payment, outcome, None, payload, order_id)
    await session.flush()
    return row


def _check(payment: VerifiedPayment, online: OnlinePayment | None, order_id: int) -> str | None:
    if not payment.paid or payment.status != "succeeded":
        return f"Payment status is {payment.status!r}, not paid"
    if payment.currency != CURRENCY:
        return f"Currency {payment.currency!r} is not {CURRENCY}"
    if payment.amount is None or payment.amount <= 0:
        return "No amount"
    if online is not None:
        if online.order_id != order_id:
            return f"The payment was made for order {online.order_id}, not {order_id}"
        if online.amount != payment.amount:
            return f"Amount {payment.amount} differs from the {online.amount} asked for"
    return None


async def list_notifications(
    session: AsyncSession,
    *,
    outcome: str | None = None,
    order_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PaymentNotification], int]:
    """Received notifications, newest first (``outcome=unknown_order`` for the ones to
    settle by hand)."""
    conditions = []
    if outcome:
        conditions.append(PaymentNotification.outcome == outcome)
    if order_id is not None:
        conditions.append(PaymentNotification.order_id == order_id)
    total = await session.scalar(select(func.count(PaymentNotification.id)).where(*conditions))
    rows = await session.scalars(
        select(PaymentNotification)
        .where(*conditions)
        .order_by(PaymentNotification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def list_online_payments(session: AsyncSession, *, order_id: int) -> list[OnlinePayment]:
    """The payment links made for an order, newest first."""
    rows = await session.scalars(
        select(OnlinePayment)
        .where(OnlinePayment.order_id == order_id)
        .order_by(OnlinePayment.id.desc())
    )
    return list(rows)


async def pending_payment_url(session: AsyncSession, order_id: int) -> str | None:
    """The newest still-pending payment link of the order (for letters and messages)."""
    return await session.scalar(
        select(OnlinePayment.confirmation_url)
        .where(
            OnlinePayment.order_id == order_id,
            OnlinePayment.status == "pending",
            OnlinePayment.confirmation_url.is_not(None),
        )
        .order_by(OnlinePayment.id.desc())
        .limit(1)
    )
