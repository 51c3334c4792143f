"""Checkout: ask only for what is missing (contact, pickup or address, comment), show
the summary, then create the order through the core (channel ``telegram``)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import CartCb, CheckoutCb
from bot.filters import Is
from bot.handlers import start
from bot.handlers.common import send, show
from bot.i18n import Translate
from bot.identity import Who, ensure_customer
from bot.states import Checkout
from bot.views import cart_text, rub
from crm_core.cart.service import cart_items, clear_cart, order_lines
from crm_core.orders.service import create_order

MAX_TEXT = 500


async def begin(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, who: Who, _: Translate
) -> None:
    items = await cart_items(session, who.telegram_id)
    await session.commit()
    await query.answer()
    if not order_lines(items):
        await send(query, _("Your cart is empty. Catalog: /catalog"))
        return
    if not who.linked:
        await state.set_state(Checkout.contact)
        await send(
            query,
            _("To place an order, please share your phone number."),
            keyboards.contact_request(_),
        )
        return
    await _ask_delivery(query.bot, who, state, _)


async def _ask_delivery(bot, who: Who, state: FSMContext, _: Translate) -> None:
    await state.set_state(Checkout.delivery)
    await bot.send_message(
        who.telegram_id,
        _("How do you want to receive the order?"),
        reply_markup=keyboards.delivery(_),
    )


async def contact_given(
    message: Message, state: FSMContext, session: AsyncSession, who: Who, _: Translate
) -> None:
    if await start.contact(message, session, who, _):
        await _ask_delivery(message.bot, who, state, _)


async def contact_missing(message: Message, _: Translate) -> None:
    await message.answer(
        _("To place an order, please share your phone number."),
        reply_markup=keyboards.contact_request(_),
    )


async def pickup(query: CallbackQuery, state: FSMContext, _: Translate) -> None:
    await state.update_data(address=None)
    await query.answer()
    await _ask_comment(query, state, _)


async def delivery(query: CallbackQuery, state: FSMContext, _: Translate) -> None:
    await state.set_state(Checkout.address)
    await query.answer()
    await send(query, _("Write the delivery address."), ReplyKeyboardRemove())


async def address(message: Message, state: FSMContext, _: Translate) -> None:
    await state.update_data(address=message.text.strip()[:MAX_TEXT])
    await state.set_state(Checkout.comment)
    await message.answer(
        _("A comment for the order? Write it or tap “Skip”."),
        reply_markup=keyboards.skip_comment(_),
    )


async def _ask_comment(query: CallbackQuery, state: FSMContext, _: Translate) -> None:
    await state.set_state(Checkout.comment)
    await send(
        query, _("A comment for the order? Write it or tap “Skip”."), keyboards.skip_comment(_)
    )


async def comment(
    message: Message, state: FSMContext, session: AsyncSession, who: Who, _: Translate
) -> None:
    await state.update_data(comment=message.text.strip()[:MAX_TEXT])
    text = await _summary(session, who, state, _)
    await message.answer(text, reply_markup=keyboards.confirm(_))


async def skip_comment(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, who: Who, _: Translate
) -> None:
    await state.update_data(comment=None)
    text = await _summary(session, who, state, _)
    await query.answer()
    await send(query, text, keyboards.confirm(_))


async def _summary(session: AsyncSession, who: Who, state: FSMContext, _: Translate) -> str:
    items = await cart_items(session, who.telegram_id)
    await session.commit()
    data = await state.get_data()
    await state.set_state(Checkout.confirm)
    body = cart_text(_, items)
    return _(
        "Your order:\n{lines}\nReceiving: {how}\nComment: {comment}",
        lines=body,
        how=data.get("address") or _("pickup"),
        comment=data.get("comment") or _("—"),
    )


async def confirm(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, who: Who, _: Translate
) -> None:
    data = await state.get_data()
    items = await cart_items(session, who.telegram_id)
    lines = order_lines(items)
    # Emptying the cart first settles a double tap: the second one finds nothing.
    if not lines or not await clear_cart(session, who.telegram_id):
        await state.clear()
        await query.answer(_("This button is outdated."))
        return
    customer_id = await ensure_customer(session, who)
    order = await create_order(
        session,
        customer_id=customer_id,
        lines=lines,
        channel="telegram",
        comment=data.get("comment"),
        delivery_address=data.get("address"),
    )
    number, total, order_id = order.number, order.total, order.id
    await session.commit()
    await state.clear()
    await query.answer()
    markup = keyboards.orders(_, [(order_id, f"№ {number}")], page=0, more=False)
    await show(
        query,
        _(
            "Order {number} for {total} is placed. We will tell you when its status changes.",
            number=number,
            total=rub(total),
        ),
        markup,
    )


async def cancel(query: CallbackQuery, state: FSMContext, _: Translate) -> None:
    await state.clear()
    await query.answer()
    await show(query, _("Checkout cancelled."))


async def _typed(message: Message) -> bool:
    return bool(message.text) and not message.text.startswith("/")


def make_router() -> Router:
    router = Router(name="checkout")
    router.callback_query.register(begin, CartCb.filter(F.action == "checkout"))
    router.message.register(contact_given, StateFilter(Checkout.contact), Is(F.contact))
    router.message.register(contact_missing, StateFilter(Checkout.contact), _typed)
    router.callback_query.register(
        pickup, StateFilter(Checkout.delivery), CheckoutCb.filter(F.action == "pickup")
    )
    router.callback_query.register(
        delivery, StateFilter(Checkout.delivery), CheckoutCb.filter(F.action == "delivery")
    )
    router.message.register(address, StateFilter(Checkout.address), _typed)
    router.message.register(comment, StateFilter(Checkout.comment), _typed)
    router.callback_query.register(
        skip_comment, StateFilter(Checkout.comment), CheckoutCb.filter(F.action == "skip_comment")
    )
    router.callback_query.register(
        confirm, StateFilter(Checkout.confirm), CheckoutCb.filter(F.action == "confirm")
    )
    router.callback_query.register(cancel, CheckoutCb.filter(F.action == "cancel"))
    return router
