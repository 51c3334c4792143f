"""Order status pushes: outbox events → a short message to the customer's Telegram.

Registered by ``firma/worker.py``. A customer marked unreachable (blocked the bot) gets
nothing; a 403 while sending marks them (``TelegramLimits``) and is not retried.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import pick_language, translator
from bot.views import rub
from crm_core.cart.telegram import customer_telegram_ids, find_telegram_link
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

    async def recipients(customer_id: int | None) -> list[tuple[int, str]]:
        if customer_id is None:
            return []
        async with unit_of_work(sessions, clock=clock) as session:
            ids = await customer_telegram_ids(session, customer_id)
            out = []
            for telegram_id in ids:
                link = await find_telegram_link(session, telegram_id)
                out.append((telegram_id, pick_language(link.language, default=default_language)))
            return out

    async def push(customer_id: int | None, text_of) -> None:
        for telegram_id, language in await recipients(customer_id):
            try:
                await bot.send_message(telegram_id, text_of(translator(language)))
            except TelegramForbiddenError:
                log.info("telegram %s blocked the bot: push dropped", telegram_id)

    async def state_changed(event) -> None:
        p = event.payload
        name = p.get("to_state_name") or p.get("to_state")
        await push(
            p.get("customer_id"), lambda tr: tr("push_state", number=p["number"], state=name)
        )

    async def payment_received(event) -> None:
        p = event.payload
        amount = rub(Decimal(str(p["amount"])))
        await push(
            p.get("customer_id"),
            lambda tr: tr(
                "push_paid", number=p["number"], amount=amount, percent=p["paid_percent"]
            ),
        )

    return {"order.state_changed": [state_changed], "payment.received": [payment_received]}
