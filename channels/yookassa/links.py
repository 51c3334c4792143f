"""Payment links for orders: a ЮKassa payment with a redirect confirmation.

A channel service the other doors call (the API, later the bot and the letters):
the order's remaining amount (or a part), a pending link of the same amount reused
rather than doubled, and an ``Idempotence-Key`` derived from the order and its count
of links, so a request retried after a crash gets the same payment back.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.yookassa.client import YookassaClient, YookassaError
from channels.yookassa.notifications import PROVIDER
from crm_core.catalog.common import to_decimal
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import OnlinePayment, StateCategory
from crm_core.online_payments.service import CURRENCY, open_payment_for, record_online_payment
from crm_core.orders.service import get_order


class PaymentLinkFailed(Exception):
    """ЮKassa refused or was unreachable: nothing was recorded."""


async def create_payment_link(
    session: AsyncSession,
    client: YookassaClient,
    *,
    order_id: int,
    amount: Decimal | str | None = None,
    return_url: str | None = None,
) -> OnlinePayment:
    """A payment link for what is left to pay on the order (or ``amount`` of it)."""
    order = await get_order(session, order_id)
    if order.category is not StateCategory.OPEN:
        raise Conflict(f"Order {order.number} is closed: nothing to pay")
    left = order.total - order.paid_amount
    if amount is None:
        amount = left
    amount = to_decimal(amount, field="amount", places=2)
    if amount <= 0:
        raise ValidationFailed("Nothing to pay: the amount must be greater than 0", field="amount")
    if amount > left:
        raise Conflict(f"Amount {amount:.2f} exceeds the {left:.2f} left to pay", field="amount")
    found = await open_payment_for(session, PROVIDER, order.id, amount)
    if found is not None and found.confirmation_url:
        return found
    made = await session.scalar(
        select(func.count(OnlinePayment.id)).where(OnlinePayment.order_id == order.id)
    )
    key = f"firma-order-{order.id}-{made or 0}-{amount:.2f}"
    try:
        created = await client.create_payment(
            amount=amount,
            currency=CURRENCY,
            description=f"Заказ {order.number}",
            return_url=return_url or client.config.return_url,
            metadata={"order_id": str(order.id), "order_number": order.number},
            idempotence_key=key,
        )
    except YookassaError as exc:
        raise PaymentLinkFailed(str(exc)) from exc
    confirmation = created.get("confirmation")
    url = confirmation.get("confirmation_url") if isinstance(confirmation, dict) else None
    if not isinstance(created.get("id"), str) or not url:
        raise PaymentLinkFailed("ЮKassa answered without a payment id or confirmation URL")
    return await record_online_payment(
        session,
        provider=PROVIDER,
        payment_id=created["id"],
        order_id=order.id,
        amount=amount,
        currency=CURRENCY,
        status=str(created.get("status") or "pending"),
        confirmation_url=str(url),
        idempotence_key=key,
    )
