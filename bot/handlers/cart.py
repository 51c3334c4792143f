"""/cart: lines and total, +/− on a line, clear; "+"/"−" on a product card."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import CartAddCb, CartCb
from bot.handlers.common import send, show
from bot.i18n import Translate
from bot.identity import Who
from bot.views import cart_text, qty
from crm_core.cart.service import cart_items, change_quantity, clear_cart
from crm_core.errors import DomainError


async def render_cart(session: AsyncSession, who: Who, _: Translate):
    """The cart's text and keyboard (no keyboard for an empty cart)."""
    items = await cart_items(session, who.telegram_id)
    if not items:
        return _("Your cart is empty. Catalog: /catalog"), None
    lines = [(i.product.id, i.product.name) for i in items]
    return cart_text(_, items), keyboards.cart(_, lines)


async def cart(message: Message, session: AsyncSession, who: Who, _: Translate) -> None:
    text, markup = await render_cart(session, who, _)
    await session.commit()
    await message.answer(text, reply_markup=markup)


async def cart_show(
    query: CallbackQuery, session: AsyncSession, who: Who, _: Translate
) -> AnswerCallbackQuery:
    text, markup = await render_cart(session, who, _)
    await session.commit()
    await send(query, text, markup)
    return query.answer()  # in the webhook's reply: one request fewer


async def cart_clear(query: CallbackQuery, session: AsyncSession, who: Who, _: Translate) -> None:
    await clear_cart(session, who.telegram_id)
    await session.commit()
    await query.answer()
    await show(query, _("The cart is cleared."))


async def cart_change(
    query: CallbackQuery, callback_data: CartAddCb, session: AsyncSession, who: Who, _: Translate
) -> AnswerCallbackQuery | None:
    if callback_data.delta not in (-1, 1) or callback_data.view not in ("p", "c"):
        await query.answer(_("This button is outdated."))  # forged: our buttons only carry ±1
        return
    try:
        quantity = await change_quantity(
            session, who.telegram_id, callback_data.product_id, Decimal(callback_data.delta)
        )
    except DomainError:
        await query.answer(_("This button is outdated."))
        return
    if callback_data.view == "c":
        text, markup = await render_cart(session, who, _)
        await session.commit()
        await show(query, text, markup)
        return query.answer()
    await session.commit()
    if query.message is not None:
        # A card too old to edit keeps its old buttons; the cart itself is right.
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(
                reply_markup=keyboards.product_card(_, callback_data.product_id, quantity)
            )
    return query.answer(_("In cart: {quantity}", quantity=qty(quantity)))


def make_router() -> Router:
    router = Router(name="cart")
    router.message.register(cart, Command("cart"))
    router.callback_query.register(cart_show, CartCb.filter(F.action == "show"))
    router.callback_query.register(cart_clear, CartCb.filter(F.action == "clear"))
    router.callback_query.register(cart_change, CartAddCb.filter())
    return router
