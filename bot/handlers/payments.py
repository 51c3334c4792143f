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
from bot.handlers.orders import left_to_pay, own_order
from bot.i18n import Translate
from bot.identity import Who
from bot.views import rub
from crm_core.errors import DomainError
from crm_core.orders.service import register_payment

log = logging.getLogger(__name__)
CURRENCY = "RUB"
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
    tr: Translate,
    config: BotConfig,
) -> None:
    if not config.payment_provider_token:
        await query.answer(tr("outdated"))  # a button from when payments were on
        return
    order = await own_order(session, who, callback_data.order_id)
    if order is None:
        await query.answer(tr("not_found"))
        return
    left = left_to_pay(order)
    await session.commit()
    if left <= 0:
        await query.answer(tr("not_payable"))
        return
    await query.answer()
    await query.bot.send_invoice(
        chat_id=query.from_user.id,
        title=tr("invoice_title", number=order.number),
        description=tr("invoice_description", number=order.number),
        payload=f"order:{order.id}",
        provider_token=config.payment_provider_token,
        currency=CURRENCY,
        prices=[
            LabeledPrice(label=tr("invoice_title", number=order.number), amount=_kopecks(left))
        ],
    )


async def pre_checkout(
    query: PreCheckoutQuery, session: AsyncSession, who: Who, tr: Translate
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
        await query.answer(ok=False, error_message=tr("not_payable"))


async def paid(message: Message, session: AsyncSession, who: Who, tr: Translate) -> None:
    payment = message.successful_payment
    order_id = _order_id(payment.invoice_payload)
    order = await own_order(session, who, order_id) if order_id else None
    if order is None:
        log.error("telegram payment %s for an unknown order", payment.telegram_payment_charge_id)
        await message.answer(tr("error"))
        return
    amount = Decimal(payment.total_amount) / 100
    try:
        await register_payment(
            session,
            order.id,
            amount=amount,
            method="telegram",
            external_id=f"telegram:{payment.telegram_payment_charge_id}",
        )
    except DomainError as exc:
        # Charged but refused by the core (e.g. closed meanwhile): a person must look.
        log.error("telegram payment %s not registered: %s", payment.telegram_payment_charge_id, exc)
        await message.answer(tr("error"))
        return
    number = order.number
    await session.commit()
    await message.answer(
        tr("paid_thanks", amount=rub(amount.quantize(Decimal("0.01"))), number=number)
    )


def make_router() -> Router:
    router = Router(name="payments")
    router.callback_query.register(pay, OrderCb.filter(F.action == "pay"))
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(paid, F.successful_payment)
    return router
