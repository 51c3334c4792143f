"""The one factory of the bot: ``Bot`` + ``Dispatcher`` for ``firma bot`` (polling),
``firma serve`` (webhook) and the tests alike."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cache import BotCaches
from bot.config import BotConfig
from bot.handlers import customer_routers
from bot.i18n import COMMANDS, LANGUAGES, translator
from bot.identity import Who
from bot.middlewares import CustomerContextMiddleware
from bot.retry import Sleep, TelegramLimits
from crm_core.cart.telegram import set_telegram_unreachable
from crm_core.context import Clock
from crm_core.db import unit_of_work

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = ("start", "catalog", "cart", "orders", "help", "language")


def _pin_response_models() -> list[type]:
    """aiogram parses every answer as ``Response[<method's result type>]``; pydantic
    caches those generic models only weakly, so after each garbage collection the next
    call builds its model again (~10 ms of CPU each — a fifth of the bot's CPU under
    load). Holding them here keeps them cached for the process."""
    from aiogram import methods
    from aiogram.methods.base import Response

    used = (
        methods.SendMessage,
        methods.SendPhoto,
        methods.SendDocument,
        methods.SendInvoice,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.AnswerPreCheckoutQuery,
        methods.SetMyCommands,
        methods.SetWebhook,
        methods.DeleteWebhook,
        methods.GetMe,
        methods.GetUpdates,
    )
    return [Response[m.__returning__] for m in used]


_RESPONSE_MODELS = _pin_response_models()


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
    caches = BotCaches(clock)
    dispatcher = Dispatcher(
        storage=storage or _storage(config), config=config, clock=clock, caches=caches
    )
    dispatcher.update.outer_middleware(
        CustomerContextMiddleware(
            sessions, clock=clock, default_language=config.language, caches=caches
        )
    )
    # Managers' routers first: their gate (IsStaff) lets only bound employees through,
    # everything else falls through to the customer cabinet. The binding router
    # (``/start emp_<code>``) is for anyone; the rest sit behind a gate that reads the
    # identity the middleware already looked up, so a customer's update costs no
    # further query.
    from bot.handlers.staff import staff_routers

    staff = Router(name="staff-gate")
    staff.message.filter(_known_employee)
    staff.callback_query.filter(_known_employee)
    for router in staff_routers():
        if router.name == "staff-bind":
            dispatcher.include_router(router)
        else:
            staff.include_router(router)
    dispatcher.include_routers(staff, *customer_routers())
    return dispatcher


async def _known_employee(_event: TelegramObject, who: Who | None = None) -> bool:
    return who is not None and who.employee_id is not None


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
            _ = translator(language)
            commands = [
                BotCommand(command=c, description=_(COMMANDS[c])) for c in CUSTOMER_COMMANDS
            ]
            await self.bot.set_my_commands(
                commands,
                scope=BotCommandScopeAllPrivateChats(),
                language_code=None if language == self.config.language else language,
            )

    async def feed(
        self, update: dict[str, Any], *, in_response: bool = False
    ) -> dict[str, Any] | None:
        """Handle one update; a failure is logged, never raised (Telegram would resend it).

        A handler may return its last call instead of making it (``return query.answer()``).
        With ``in_response`` (the webhook) an answer to a button comes back as the
        webhook's reply body, which Telegram executes: one HTTP request fewer per
        button press. Otherwise the call is made here."""
        try:
            result = await self.dispatcher.feed_raw_update(self.bot, update)
        except Exception:
            log.exception("telegram update %s failed", update.get("update_id"))
            return None
        if not isinstance(result, TelegramMethod):
            return None
        if in_response and isinstance(result, AnswerCallbackQuery):
            body = result.model_dump(mode="json", exclude_none=True)
            return {"method": result.__api_method__, **body}
        try:
            await self.bot(result)
        except TelegramAPIError:
            log.exception("telegram update %s: the answer failed", update.get("update_id"))
        return None

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
        await close_bot(self.bot, self.limits)
        await self.dispatcher.storage.close()  # Redis: its connection pool


async def close_bot(bot: Bot, limits: TelegramLimits) -> None:
    """Let the pending "blocked" markings finish, then close the HTTP session."""
    await limits.drain()
    await bot.session.close()


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
