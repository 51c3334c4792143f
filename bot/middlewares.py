"""Per-update plumbing: private chats only, one DB unit of work, who is writing, texts.

The unit of work commits when the handler returns and rolls back when it raises.
Handlers commit early (``await session.commit()``) before talking to Telegram when
they have written something: on SQLite a transaction holds the write lock, and a
slow or rate-limited send must not hold it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.identity import resolve
from crm_core.context import Actor, ActorKind, Clock
from crm_core.db import unit_of_work

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class CustomerContextMiddleware(BaseMiddleware):
    """Outer update middleware: drops what the customer cabinet does not serve (group
    chats, channel posts, updates without a user) and opens the unit of work."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        default_language: str = "ru",
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot:
            return None  # channel posts, chat boosts...: nothing for the cabinet
        if chat is not None and chat.type != "private":
            return None  # groups: the cabinet is one-to-one; stay silent
        actor = Actor(ActorKind.CUSTOMER, None, f"telegram:{user.id}")
        async with unit_of_work(self.sessions, actor=actor, clock=self.clock) as session:
            who = await resolve(session, user, default_language=self.default_language)
            data["session"] = session
            data["who"] = who
            data["tr"] = translator(who.language)
            return await handler(event, data)
