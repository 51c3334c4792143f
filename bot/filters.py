"""Filters that run on the event loop.

aiogram awaits a filter only when it is a coroutine function or a ``Filter``; any
other callable, a bare magic filter (``F.text``) among them, it runs through
``asyncio.to_thread``: a thread-pool hand-off and back for every check of every
update against every handler it passes on its way. A customer's message met three of
them before its handler (``bench/bot.py``). ``Is`` checks a magic rule on the loop,
and the handlers' own predicates are coroutine functions;
``tests/bot/test_filters.py`` fails if a handler or a router's filter would still
go to a thread.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Is(Filter):
    """``Is(F.contact)``: the magic rule checked on the event loop."""

    __slots__ = ("rule",)

    def __init__(self, rule: MagicFilter) -> None:
        self.rule = rule

    async def __call__(self, event: TelegramObject) -> Any:
        return self.rule.resolve(event)

    def __str__(self) -> str:
        return f"Is({self.rule!r})"
