"""The "Unsubscribe" button under Telegram campaign messages.

Its callback data carries the same signed token as an email unsubscribe link, so a
forged or edited button does nothing. The press must come from the Telegram user the
customer is linked to. ``register_stop_button`` adds the handler to a dispatcher's
own callback observer, which aiogram tries before any router (the cabinet's
fallback answers every unknown button).
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock
from crm_core.db import unit_of_work
from crm_core.models import Channel, ContactKind, ContactPoint
from messaging.i18n import catalog
from messaging.telegram import STOP_PREFIX
from messaging.unsubscribe import read_token
from messaging.web import unsubscribe


async def _linked(session: AsyncSession, customer_id: int, telegram_id: int) -> bool:
    found = await session.scalar(
        select(ContactPoint.id).where(
            ContactPoint.customer_id == customer_id,
            ContactPoint.kind == ContactKind.TELEGRAM,
            ContactPoint.value == str(telegram_id),
        )
    )
    return found is not None


def register_stop_button(
    dispatcher: Router,
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret_key: str,
    clock: Clock | None = None,
    language: str = "ru",
) -> None:
    async def on_stop(query: CallbackQuery, **data: Any) -> None:
        who = data.get("who")
        _ = catalog.translator(getattr(who, "language", None) or language)
        request = read_token(secret_key, (query.data or "").removeprefix(STOP_PREFIX))
        if request is None or request.channel != Channel.TELEGRAM:
            await query.answer(_("This button is no longer valid."))
            return
        session: AsyncSession | None = data.get("session")
        if session is not None:  # the bot's unit of work for this update
            done = await _apply(session, request, query.from_user.id)
            await session.commit()  # before talking to Telegram (SQLite write lock)
        else:
            async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as own:
                done = await _apply(own, request, query.from_user.id)
        if done is None:
            await query.answer(_("This button is no longer valid."))
            return
        await query.answer(_("You have been unsubscribed."))
        if query.message is not None:
            with contextlib.suppress(TelegramAPIError):
                await query.message.edit_reply_markup(reply_markup=None)

    dispatcher.callback_query.register(on_stop, F.data.startswith(STOP_PREFIX))


async def _apply(session: AsyncSession, request, telegram_id: int) -> bool | None:
    """None when the presser is not the customer the token names."""
    if not await _linked(session, request.customer_id, telegram_id):
        return None
    return await unsubscribe(session, request)
