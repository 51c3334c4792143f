"""Telegram Payments: the invoice for what is left to pay, the pre-checkout check, and
the successful payment registered through the core (idempotent by the charge id)."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from aiogram import F, Router
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OrderCb
from bot.config import BotConfig
from bot.filters import Is
from bot.handlers.orders import own_order
from bot.i18n import Translate
from bot.identity import Who
from bot.views import rub
from crm_core.cart.charges import CURRENCY, left_to_pay, settle_telegram_charge

log = logging.getLogger(__name__)
PAYLOAD = re.compile(r"^order:(\d{1,18})$")


def _kopecks(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _order_id(payload: str) -> int | None:
    match = PAYLOAD.match(payload or "")
    return int(match.group(1)) if match else None


async def pay(
    query: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    who: Who,
    _: Translate,
    config: BotConfig,
) -> None:
    if not config.payment_provider_token:
        await query.answer(_("This button is outdated."))  # a button from when payments were on
        return
    order = await own_order(session, who, callback_data.order_id)
    if order is None:
        await query.answer(_("Not found."))
        return
    left = left_to_pay(order)
    await session.commit()
    if left <= 0:
        await query.answer(_("This order cannot be paid now."))
        return
    await query.answer()
    await query.bot.send_invoice(
        chat_id=query.from_user.id,
        title=_("Order {number}", number=order.number),
        description=_("Payment for order {number}", number=order.number),
        payload=f"order:{order.id}",
        provider_token=config.payment_provider_token,
        currency=CURRENCY,
        prices=[
            LabeledPrice(label=_("Order {number}", number=order.number), amount=_kopecks(left))
        ],
    )


async def pre_checkout(
    query: PreCheckoutQuery, session: AsyncSession, who: Who, _: Translate
) -> None:
    """Telegram waits at most 10 s for this answer: one order read, then the answer."""
    order_id = _order_id(query.invoice_payload)
    order = await own_order(session, who, order_id) if order_id else None
    ok = (
        order is not None
        and query.currency == CURRENCY
        and left_to_pay(order) > 0
        and query.total_amount == _kopecks(left_to_pay(order))
    )
    await session.commit()
    if ok:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=_("This order cannot be paid now."))


async def paid(message: Message, session: AsyncSession, who: Who, _: Translate) -> None:
    """Telegram took the money: the core registers it, or keeps it for a manager."""
    payment = message.successful_payment
    order_id = _order_id(payment.invoice_payload)
    order = await own_order(session, who, order_id) if order_id else None
    result = await settle_telegram_charge(
        session,
        charge_id=payment.telegram_payment_charge_id,
        provider_charge_id=payment.provider_payment_charge_id,
        telegram_id=who.telegram_id,
        payload=payment.invoice_payload,
        order_id=order.id if order is not None else None,
        customer_id=who.customer_id,
        amount_minor=payment.total_amount,
        currency=payment.currency,
    )
    await session.commit()
    amount = rub(result.charge.amount)
    if result.registered:
        text = _(
            "Payment of {amount} for order {number} received. Thank you!",
            amount=amount,
            number=result.order_number,
        )
    else:
        if result.created:
            log.error(
                "telegram charge %s needs attention: %s",
                result.charge.charge_id,
                result.charge.reason,
            )
        text = _(
            "We have received your payment of {amount}, but could not apply it to your order "
            "automatically. The money is safe: a manager will sort it out and contact you.",
            amount=amount,
        )
    await message.answer(text)


def make_router() -> Router:
    router = Router(name="payments")
    router.callback_query.register(pay, OrderCb.filter(F.action == "pay"))
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(paid, Is(F.successful_payment))
    return router
