"""/start (with deep links), the shared contact, /help, /language."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import LanguageCb
from bot.filters import Is
from bot.i18n import LANGUAGES, Translate, translator
from bot.identity import Who, phone_from_contact, record_intake
from crm_core.cart.telegram import set_language
from crm_core.errors import ValidationFailed

# Telegram allows A-Z, a-z, 0-9, _ and - in a start parameter, up to 64 characters.
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIRM_NAME = "Firma"


async def start(
    message: Message, command: CommandObject, session: AsyncSession, who: Who, _: Translate
) -> None:
    payload = (command.args or "").strip()
    if payload and PAYLOAD.match(payload):
        # An ad or a form brought them: the visit is a lead (or an event on the
        # customer) carrying the payload, even if they never share the phone.
        await record_intake(session, who, payload=payload)
        await session.commit()
    await message.answer(
        _(
            "Hello, {name}! This is the {firm} bot: catalog, cart, orders and payment, "
            "and you can simply write to us here.\n\n"
            "Share your phone number with the button below so we know who you are "
            "(you may skip it and just browse).",
            name=who.name or "",
            firm=FIRM_NAME,
        ),
        reply_markup=keyboards.contact_request(_),
    )


async def contact(message: Message, session: AsyncSession, who: Who, _: Translate) -> bool:
    """Link the user by their own shared phone; False when it was not usable."""
    shared = message.contact
    if shared is None or shared.user_id != message.from_user.id:
        # Someone else's card: linking it would let anyone claim a customer's orders.
        await message.answer(
            _("Please share your own number with the “Share my number” button."),
            reply_markup=keyboards.contact_request(_),
        )
        return False
    try:
        await record_intake(session, who, phone=phone_from_contact(shared.phone_number))
    except ValidationFailed:
        await message.answer(
            _("Could not read that number. Please try again."),
            reply_markup=keyboards.contact_request(_),
        )
        return False
    await session.commit()
    await message.answer(
        _("Thank you, {name}! We know you now.", name=who.name), reply_markup=ReplyKeyboardRemove()
    )
    return True


async def contact_message(message: Message, session: AsyncSession, who: Who, _: Translate) -> None:
    await contact(message, session, who, _)


async def skip(message: Message, _: Translate) -> None:
    await message.answer(
        _("All right. Catalog: /catalog, cart: /cart, help: /help."),
        reply_markup=ReplyKeyboardRemove(),
    )


async def help_(message: Message, _: Translate) -> None:
    await message.answer(
        _(
            "/catalog — catalog\n/cart — cart\n/orders — my orders\n"
            "/language — language\n/help — help\n\n"
            "Any message you write here reaches a manager."
        )
    )


async def language(message: Message, _: Translate) -> None:
    await message.answer(_("Choose a language:"), reply_markup=keyboards.languages())


async def language_chosen(
    query: CallbackQuery, callback_data: LanguageCb, session: AsyncSession, who: Who, _: Translate
) -> None:
    if callback_data.code not in LANGUAGES:
        await query.answer(_("This button is outdated."))
        return
    await set_language(session, who.telegram_id, callback_data.code)
    await session.commit()
    _ = translator(callback_data.code)
    await query.answer()
    await query.message.answer(_("Language: English."))


def make_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(contact_message, Is(F.contact))
    router.message.register(skip, Is(F.text.in_({translator(code)("Skip") for code in LANGUAGES})))
    router.message.register(help_, Command("help"))
    router.message.register(language, Command("language"))
    router.callback_query.register(language_chosen, LanguageCb.filter())
    return router
