"""Telegram messages through the Bot API with aiogram's ``Bot`` (messaging's own
instance: the bot package is a door on top of messaging, not below it).

Only customers who started the bot can get a message (a bot cannot open a chat), so
the address is the Telegram id the bot linked to the customer. Telegram's answers
become a ``SendResult``: 429 carries ``retry_after`` (the caller holds every send that
long and tries again), 403 means the user blocked the bot (unreachable: skipped, and
later campaigns leave them out), "chat not found" a bad address.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from messaging.config import TelegramConfig
from messaging.outcome import SendResult

log = logging.getLogger(__name__)

STOP_PREFIX = "stop:"
CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts


def stop_markup(label: str, token: str) -> InlineKeyboardMarkup | None:
    """The "unsubscribe" button under a campaign message (its token is signed)."""
    data = STOP_PREFIX + token
    if len(data.encode()) > CALLBACK_LIMIT:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data)]]
    )


class TelegramSender:
    def __init__(self, config: TelegramConfig, *, bot: Bot | None = None) -> None:
        self.config = config
        if bot is None:
            session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_url.rstrip("/")))
            bot = Bot(config.token, session=session)
        self.bot = bot

    async def send(
        self, chat_id: int, text: str, *, markup: InlineKeyboardMarkup | None = None
    ) -> SendResult:
        try:
            message = await self.bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            return SendResult(
                False, "", f"429 retry after {exc.retry_after}", retry_after=float(exc.retry_after)
            )
        except TelegramForbiddenError as exc:
            return SendResult(False, "", f"403 {exc.message}", permanent=True, unreachable=True)
        except TelegramBadRequest as exc:
            bad = "chat not found" in exc.message.lower()
            return SendResult(False, "", f"400 {exc.message}", permanent=True, bad_address=bad)
        except TelegramUnauthorizedError as exc:  # the token was revoked: a person's job
            return SendResult(False, "", f"401 {exc.message}", permanent=True, fatal=True)
        except (TelegramNetworkError, TelegramServerError) as exc:
            return SendResult(False, "", f"telegram: {exc}", outage=True)
        return SendResult(True, str(message.message_id), "sent")

    async def close(self) -> None:
        await self.bot.session.close()
