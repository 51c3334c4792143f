"""/start (with deep links), the shared contact, /help, /language."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import LanguageCb
from bot.i18n import LANGUAGES, Translate, translator
from bot.identity import Who, phone_from_contact, record_intake
from crm_core.cart.telegram import set_language
from crm_core.errors import ValidationFailed

# Telegram allows A-Z, a-z, 0-9, _ and - in a start parameter, up to 64 characters.
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIRM_NAME = "Firma"


async def start(
    message: Message, command: CommandObject, session: AsyncSession, who: Who, tr: Translate
) -> None:
    payload = (command.args or "").strip()
    if payload and PAYLOAD.match(payload):
        # An ad or a form brought them: the visit is a lead (or an event on the
        # customer) carrying the payload, even if they never share the phone.
        await record_intake(session, who, payload=payload)
        await session.commit()
    await message.answer(
        tr("greeting", name=who.name or "", firm=FIRM_NAME),
        reply_markup=keyboards.contact_request(tr),
    )


async def contact(message: Message, session: AsyncSession, who: Who, tr: Translate) -> bool:
    """Link the user by their own shared phone; False when it was not usable."""
    shared = message.contact
    if shared is None or shared.user_id != message.from_user.id:
        # Someone else's card: linking it would let anyone claim a customer's orders.
        await message.answer(tr("contact_not_own"), reply_markup=keyboards.contact_request(tr))
        return False
    try:
        await record_intake(session, who, phone=phone_from_contact(shared.phone_number))
    except ValidationFailed:
        await message.answer(tr("contact_bad"), reply_markup=keyboards.contact_request(tr))
        return False
    await session.commit()
    await message.answer(tr("contact_linked", name=who.name), reply_markup=ReplyKeyboardRemove())
    return True


async def contact_message(message: Message, session: AsyncSession, who: Who, tr: Translate) -> None:
    await contact(message, session, who, tr)


async def skip(message: Message, tr: Translate) -> None:
    await message.answer(tr("skipped"), reply_markup=ReplyKeyboardRemove())


async def help_(message: Message, tr: Translate) -> None:
    await message.answer(tr("help"))


async def language(message: Message, tr: Translate) -> None:
    await message.answer(tr("language_pick"), reply_markup=keyboards.languages())


async def language_chosen(
    query: CallbackQuery, callback_data: LanguageCb, session: AsyncSession, who: Who, tr: Translate
) -> None:
    if callback_data.code not in LANGUAGES:
        await query.answer(tr("outdated"))
        return
    await set_language(session, who.telegram_id, callback_data.code)
    await session.commit()
    tr = translator(callback_data.code)
    await query.answer()
    await query.message.answer(tr("language_set"))


def make_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(contact_message, F.contact)
    router.message.register(skip, F.text.in_({"Пропустить", "Skip"}))
    router.message.register(help_, Command("help"))
    router.message.register(language, Command("language"))
    router.callback_query.register(language_chosen, LanguageCb.filter())
    return router
