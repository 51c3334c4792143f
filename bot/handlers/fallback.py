"""Whatever no other router took: a polite answer, an "outdated" button, or silence;
and the last line of defence for errors (logged, the user told, nothing re-raised)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import CallbackQuery, ErrorEvent, Message

from bot.i18n import Translate, translator

log = logging.getLogger(__name__)


async def unknown(message: Message, _: Translate) -> None:
    if message.text and message.text.startswith("/"):
        await message.answer(_("I do not know that command. Commands: /help"))
    else:  # stickers, voice, locations, polls...
        await message.answer(_("I understand text, photos and documents. Tell us how we can help."))


async def stale_button(query: CallbackQuery, _: Translate) -> None:
    # A forged payload, a button of an old keyboard, or a step already done.
    await query.answer(_("This button is outdated."))


async def on_error(event: ErrorEvent, **data) -> bool:
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    user = data.get("event_from_user")
    if user is None or isinstance(event.exception, TelegramForbiddenError):
        return True
    _: Translate = data.get("_") or translator("ru")
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(_("Something went wrong, please retry."))
        else:
            await data["bot"].send_message(user.id, _("Something went wrong, please retry."))
    except TelegramAPIError:
        pass  # telling them failed too; the log has it
    return True


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown)
    router.callback_query.register(stale_button)
    router.errors.register(on_error)
    return router
