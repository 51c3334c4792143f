"""Small helpers the customer routers share."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message's text; send a new one when it cannot be edited
    (too old, a photo card, or the text did not change)."""
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest:
            pass
    await query.bot.send_message(query.from_user.id, text, reply_markup=markup)


async def send(query: CallbackQuery, text: str, markup=None) -> None:
    """A new message in the user's private chat (chat id = user id there)."""
    await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
