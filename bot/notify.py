"""Order status, payment and refund pushes: outbox events → a short message to the
customer's Telegram.

Registered by ``firma/worker.py``. Exactly one push per (event, chat): the row is
reserved before sending (``crm_core.cart.pushes``), so an event the outbox hands over
again after a worker restart pushes nothing twice. A customer marked unreachable
(blocked the bot) gets nothing; a 403 while sending marks them (``TelegramLimits``)
and is not retried; any other failure is retried with the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translate, pick_language, translator
from bot.views import rub
from crm_core.cart.pushes import BLOCKED, SENT, finish_push, forget_push, reserve_push
from crm_core.cart.telegram import customer_chats
from crm_core.context import Clock
from crm_core.db import unit_of_work

log = logging.getLogger(__name__)


def bot_subscribers(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    default_language: str = "ru",
) -> dict[str, list]:
    """Topic → subscriber for the worker."""

    async def push(event, customer_id: int | None, text_of: Callable[[Translate], str]) -> None:
        if customer_id is None:
            return
        async with unit_of_work(sessions, clock=clock) as session:
            chats = await customer_chats(session, customer_id)
        for telegram_id, language in chats:
            key = {"event_id": event.id, "telegram_id": telegram_id}
            async with unit_of_work(sessions, clock=clock) as session:
                if not await reserve_push(session, customer_id=customer_id, **key):
                    continue  # pushed already (this event was handed over again)
            text = text_of(translator(pick_language(language, default=default_language)))
            try:
                await bot.send_message(telegram_id, text)
            except TelegramForbiddenError:
                log.info("telegram %s blocked the bot: push dropped", telegram_id)
                status = BLOCKED
            except Exception:
                async with unit_of_work(sessions, clock=clock) as session:
                    await forget_push(session, **key)
                raise  # the outbox retries the event; chats already pushed are skipped
            else:
                status = SENT
            async with unit_of_work(sessions, clock=clock) as session:
                await finish_push(session, status=status, **key)

    async def state_changed(event) -> None:
        p = event.payload
        name = p.get("to_state_name") or p.get("to_state")
        await push(
            event,
            p.get("customer_id"),
            lambda _: _(
                "Order {number}: the status is now {state}.", number=p["number"], state=name
            ),
        )

    async def payment_received(event) -> None:
        p = event.payload
        amount = rub(Decimal(str(p["amount"])))
        await push(
            event,
            p.get("customer_id"),
            lambda _: _(
                "Order {number}: payment of {amount} received, {percent}% paid.",
                number=p["number"],
                amount=amount,
                percent=p["paid_percent"],
            ),
        )

    async def payment_refunded(event) -> None:
        p = event.payload
        amount = rub(Decimal(str(p["amount"])))
        await push(
            event,
            p.get("customer_id"),
            lambda _: _(
                "Refund of {amount} for order {number}.", amount=amount, number=p["number"]
            ),
        )

    return {
        "order.state_changed": [state_changed],
        "payment.received": [payment_received],
        "payment.refunded": [payment_refunded],
    }
