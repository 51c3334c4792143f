"""Telegram's refusals, handled once for every send: 429 waited out, 403 remembered.

- 429 ``retry_after``: sleep that long and send again (at most ``max_retries`` times,
  and only when the wait is at most ``max_wait`` s; otherwise the error goes up).
- 403 (the user blocked the bot, or never started it): the chat is reported to
  ``on_blocked`` (which marks the customer unreachable) and the error goes up; a
  retry would only be refused again.

``sleep`` is injected so tests drive the wait with their clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import TelegramMethod

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]
OnBlocked = Callable[[int], Awaitable[Any]]


class TelegramLimits(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        on_blocked: OnBlocked | None = None,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 3,
        max_wait: float = 60.0,
    ) -> None:
        self.on_blocked = on_blocked
        self.sleep = sleep
        self.max_retries = max_retries
        self.max_wait = max_wait
        self._background: set[asyncio.Task] = set()

    async def __call__(
        self, make_request: NextRequestMiddlewareType, bot: Bot, method: TelegramMethod
    ) -> Any:
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                if attempt > self.max_retries or exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "telegram 429 on %s: retry %d after %ss",
                    type(method).__name__,
                    attempt,
                    exc.retry_after,
                )
                await self.sleep(exc.retry_after)
            except TelegramForbiddenError:
                chat_id = getattr(method, "chat_id", None)
                if self.on_blocked is not None and isinstance(chat_id, int):
                    self._report(chat_id)
                raise

    def _report(self, chat_id: int) -> None:
        # In the background: the caller may hold a transaction (SQLite: the write lock)
        # that the marking would wait for; it runs as soon as that transaction ends.
        task = asyncio.create_task(self.on_blocked(chat_id))
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("marking a blocked Telegram chat failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for the background markings (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
