"""The one factory of the bot: ``Bot`` + ``Dispatcher`` for ``firma bot`` (polling),
``firma serve`` (webhook) and the tests alike."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import BotConfig
from bot.handlers import customer_routers
from bot.i18n import LANGUAGES, translator
from bot.middlewares import CustomerContextMiddleware
from bot.retry import Sleep, TelegramLimits
from crm_core.cart.telegram import set_telegram_unreachable
from crm_core.context import Clock
from crm_core.db import unit_of_work

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = ("start", "catalog", "cart", "orders", "help", "language")


def _storage(config: BotConfig) -> BaseStorage:
    if not config.redis_url:
        return MemoryStorage()
    # FSM state shared by several ``firma serve`` processes behind a load balancer.
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(config.redis_url)


def create_dispatcher(
    config: BotConfig,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    dispatcher = Dispatcher(storage=storage or _storage(config), config=config, clock=clock)
    dispatcher.update.outer_middleware(
        CustomerContextMiddleware(sessions, clock=clock, default_language=config.language)
    )
    # Managers' routers first: their gate (IsStaff) lets only bound employees through,
    # everything else falls through to the customer cabinet.
    from bot.handlers.staff import staff_routers

    dispatcher.include_routers(*staff_routers(), *customer_routers())
    return dispatcher


@dataclass
class BotRuntime:
    config: BotConfig
    bot: Bot
    dispatcher: Dispatcher
    limits: TelegramLimits

    @classmethod
    def build(
        cls,
        config: BotConfig,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        storage: BaseStorage | None = None,
    ) -> BotRuntime:
        async def mark_blocked(chat_id: int) -> None:
            async with unit_of_work(sessions, clock=clock) as session:
                await set_telegram_unreachable(session, chat_id)

        bot, limits = create_bot(config, on_blocked=mark_blocked, sleep=sleep)
        return cls(
            config, bot, create_dispatcher(config, sessions, clock=clock, storage=storage), limits
        )

    async def set_commands(self) -> None:
        """The customer commands in Russian (default) and English."""
        for language in LANGUAGES:
            tr = translator(language)
            commands = [
                BotCommand(command=c, description=tr(f"cmd_{c}")) for c in CUSTOMER_COMMANDS
            ]
            await self.bot.set_my_commands(
                commands,
                scope=BotCommandScopeAllPrivateChats(),
                language_code=None if language == self.config.language else language,
            )

    async def feed(self, update: dict[str, Any]) -> None:
        """Handle one update; a failure is logged, never raised (Telegram would resend it)."""
        try:
            await self.dispatcher.feed_raw_update(self.bot, update)
        except Exception:
            log.exception("telegram update %s failed", update.get("update_id"))

    async def start_webhook(self) -> None:
        await self.set_commands()
        await self.bot.set_webhook(
            self.config.webhook_url,
            secret_token=self.config.webhook_secret,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )

    async def run_polling(self) -> None:
        await self.set_commands()
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dispatcher.start_polling(self.bot, handle_signals=False, close_bot_session=False)

    async def close(self) -> None:
        await self.limits.drain()
        await self.bot.session.close()


def create_bot(
    config: BotConfig, *, on_blocked=None, sleep: Sleep = asyncio.sleep
) -> tuple[Bot, TelegramLimits]:
    """A Bot talking to ``config.api_url`` with 429/403 handling on every request."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_url.rstrip("/")))
    limits = TelegramLimits(
        on_blocked=on_blocked,
        sleep=sleep,
        max_retries=config.max_retries,
        max_wait=config.max_retry_after,
    )
    session.middleware(limits)
    return Bot(config.token, session=session), limits
