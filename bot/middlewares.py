"""Per-update plumbing: private chats only, one DB unit of work, who is writing, texts.

Who is writing comes from a short-lived cache for browsing updates (``bot/cache.py``)
and from the database for every other update, which also drops the cached entry.

The unit of work commits when the handler returns and rolls back when it raises.
Handlers commit early (``await session.commit()``) before talking to Telegram when
they have written something: on SQLite a transaction holds the write lock, and a
slow or rate-limited send must not hold it. Browsing (catalog, cart, orders, help,
pre-checkout) only reads: on SQLite its transaction begins DEFERRED (``READ_ONLY``) and
reads beside the writers instead of queueing for the write lock; on PostgreSQL it runs
without a transaction of its own (autocommit), sparing the BEGIN and COMMIT round trips.

On SQLite the updates that write take turns in the process (``write_turns``) before
their transaction begins, until it ends: a writer that finds the database locked waits
in SQLite's busy handler, which polls with sleeps growing to 100 ms and serves no one
in order, so under a burst some "add to cart" waited seconds (``bench/bot.py``: p50
40 ms, p99 5 s) while the lock itself is held for a millisecond or two. An asyncio
lock hands the turn over at once, first come first served. It is released when the
unit's first transaction ends (the handlers commit before talking to Telegram), not at
the end of the update, so sends never hold it.

On SQLite an update's first transaction runs on the event loop (``crm_core.db.INLINE``;
``crm_core.sqlite_driver``): the bot's statements are small and indexed, and with no
thread calls a writer holds its turn for the microseconds SQLite needs instead of for
two hand-offs to a busy loop (``bench/bot.py``: "add" p50 300 ms → the browsing steps').
A lock held by someone else is still waited for on the connection's thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from bot.cache import BotCaches
from bot.i18n import translator
from bot.identity import resolve
from crm_core.context import Actor, ActorKind, Clock
from crm_core.db import INLINE, READ_ONLY, unit_of_work

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Updates whose handlers never write to the database.
READ_ONLY_COMMANDS = frozenset({"/catalog", "/cart", "/orders", "/help", "/language"})
READ_ONLY_BUTTONS = re.compile(r"^(?:g:\d+:\d+|p:\d+|ol:\d+|o:\d+:card|c:(?:show|groups))$")
# The cart's +/− on a card or in the cart: a write, but it needs only the Telegram id.
CART_BUTTONS = re.compile(r"^ca:\d+:-?1:[pc]$")


# session.info key: how to give the write turn back (see the module docstring).
WRITE_TURN = "firma_bot_write_turn"


@event.listens_for(Session, "after_transaction_end")
def _end_write_turn(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and WRITE_TURN in session.info:
        session.info.pop(WRITE_TURN)()


def _give_back_turn(session: AsyncSession) -> None:
    release = session.info.pop(WRITE_TURN, None)
    if release is not None:
        release()


def _read_only_options(session: AsyncSession) -> dict[str, Any]:
    if session.bind.dialect.name == "postgresql":
        # No BEGIN/COMMIT round trips: each read is its own statement (asyncpg autocommit).
        return {**READ_ONLY, "isolation_level": "AUTOCOMMIT"}
    return {**READ_ONLY, **INLINE}  # SQLite: BEGIN DEFERRED, beside the writer


def reads_only(update: TelegramObject) -> bool:
    """True for the browsing updates: their transaction need not take SQLite's write lock."""
    if not isinstance(update, Update):
        return False
    if update.pre_checkout_query is not None:
        return True  # answered within 10 s: must not queue behind writers
    if update.callback_query is not None:
        return bool(READ_ONLY_BUTTONS.match(update.callback_query.data or ""))
    message = update.message
    if message is not None and message.text and message.text.startswith("/"):
        command = message.text.split(maxsplit=1)[0].split("@", 1)[0].lower()
        return command in READ_ONLY_COMMANDS
    return False


def identity_may_be_cached(update: TelegramObject) -> bool:
    """Browsing and the cart's +/− may take who is writing from the short-lived cache
    (``bot/cache.py``); everything else reads it afresh. Not the pre-checkout query: a
    payment is checked against the freshest owner of the order."""
    if not isinstance(update, Update) or update.pre_checkout_query is not None:
        return False
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return bool(READ_ONLY_BUTTONS.match(data) or CART_BUTTONS.match(data))
    return reads_only(update)


class CustomerContextMiddleware(BaseMiddleware):
    """Outer update middleware: drops what the customer cabinet does not serve (group
    chats, channel posts, updates without a user) and opens the unit of work."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        default_language: str = "ru",
        caches: BotCaches | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.default_language = default_language
        self.caches = caches
        self.write_turns = asyncio.Lock()  # SQLite only

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot:
            return None  # channel posts, chat boosts...: nothing for the cabinet
        if chat is not None and chat.type != "private":
            return None  # groups: the cabinet is one-to-one; stay silent
        actor = Actor(ActorKind.CUSTOMER, None, f"telegram:{user.id}")
        cache = self.caches.identities if self.caches is not None else None
        cached_ok = identity_may_be_cached(event)
        session: AsyncSession | None = None
        try:
            async with unit_of_work(self.sessions, actor=actor, clock=self.clock) as session:
                if reads_only(event):
                    await session.connection(execution_options=_read_only_options(session))
                elif session.bind.dialect.name == "sqlite":
                    await self.write_turns.acquire()
                    session.info[WRITE_TURN] = self.write_turns.release
                    await session.connection(execution_options=INLINE)
                who = await resolve(
                    session,
                    user,
                    default_language=self.default_language,
                    cache=cache,
                    cached_ok=cached_ok,
                )
                data["session"] = session
                data["who"] = who
                data["_"] = translator(who.language)
                if self.caches is not None:
                    data["caches"] = self.caches
                return await handler(event, data)
        finally:
            if session is not None:
                _give_back_turn(session)  # no transaction ever began, or it failed
            if cache is not None and not cached_ok:
                # This update may have changed who the user is (contact, checkout,
                # /language, binding): the next browsing update reads it afresh.
                cache.drop(user.id)
