"""/orders: the customer's own orders with the journal's indicator; an order's card,
its invoice PDF, and "repeat" (its goods back into the cart)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import OrderCb, OrdersCb
from bot.config import BotConfig
from bot.handlers.cart import render_cart
from bot.handlers.common import send, show
from bot.i18n import Translate
from bot.identity import Who
from bot.views import INDICATOR_EMOJI, day, qty, rub
from crm_core.cart.charges import left_to_pay
from crm_core.cart.service import change_quantity
from crm_core.context import now
from crm_core.customers.service import get_customer
from crm_core.errors import DomainError
from crm_core.invoices.firm import get_firm
from crm_core.invoices.pdf import render_invoice_pdf
from crm_core.invoices.service import create_invoice, get_invoice, list_invoices
from crm_core.models import Order, StateCategory
from crm_core.orders.service import (
    get_order,
    indicator_of,
    list_orders,
    paid_percent,
    shipped_percent,
)

PAGE_SIZE = 8


async def own_order(session: AsyncSession, who: Who, order_id: int) -> Order | None:
    """The order if it is this customer's; None for anyone else's or an unknown id."""
    if who.customer_id is None:
        return None
    try:
        order = await get_order(session, order_id)
    except DomainError:
        return None
    return order if order.customer_id == who.customer_id else None


async def _list(session: AsyncSession, who: Who, _: Translate, config: BotConfig, page: int):
    if who.customer_id is None:
        return _("No orders yet."), None
    items, total = await list_orders(
        session, customer_id=who.customer_id, limit=PAGE_SIZE, offset=page * PAGE_SIZE
    )
    if not items:
        return _("No orders yet."), None
    at = now(session)
    rows = [
        (
            o.id,
            _(
                "{emoji} {number} · {date} · {total}",
                emoji=INDICATOR_EMOJI[indicator_of(o, at)],
                number=o.number,
                date=day(o.date, config.timezone),
                total=rub(o.total),
            )
            + f" · {o.state.name}",
        )
        for o in items
    ]
    more = total > (page + 1) * PAGE_SIZE
    return _("Your orders:"), keyboards.orders(_, rows, page=page, more=more)


async def orders(
    message: Message, session: AsyncSession, who: Who, _: Translate, config: BotConfig
) -> None:
    text, markup = await _list(session, who, _, config, 0)
    await session.commit()
    await message.answer(text, reply_markup=markup)


async def orders_page(
    query: CallbackQuery,
    callback_data: OrdersCb,
    session: AsyncSession,
    who: Who,
    _: Translate,
    config: BotConfig,
) -> AnswerCallbackQuery | None:
    if not 0 <= callback_data.page <= 10_000:
        await query.answer(_("This button is outdated."))
        return None
    text, markup = await _list(session, who, _, config, callback_data.page)
    await session.commit()
    await show(query, text, markup)
    return query.answer()  # in the webhook's reply: one request fewer


async def card(
    query: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    who: Who,
    _: Translate,
    config: BotConfig,
) -> AnswerCallbackQuery | None:
    order = await own_order(session, who, callback_data.order_id)
    if order is None:
        await query.answer(_("Not found."))
        return None
    lines = "\n".join(f"• {x.name} × {qty(x.quantity)} = {rub(x.amount)}" for x in order.lines)
    text = _(
        "{emoji} Order {number} of {date}\nStatus: {state}\n{lines}\nTotal: {total}\n"
        "Paid: {paid}% · Shipped: {shipped}%",
        emoji=INDICATOR_EMOJI[indicator_of(order, now(session))],
        number=order.number,
        date=day(order.date, config.timezone),
        state=order.state.name,
        lines=lines,
        total=rub(order.total),
        paid=paid_percent(order),
        shipped=shipped_percent(order),
    )
    left = left_to_pay(order)
    pay = left if left > 0 and config.payment_provider_token else None
    markup = keyboards.order_card(
        _, order, pay_amount=pay, pdf=order.category != StateCategory.CANCELLED and order.total > 0
    )
    await session.commit()
    await show(query, text, markup)
    return query.answer()


async def invoice_pdf(
    query: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    who: Who,
    _: Translate,
    config: BotConfig,
) -> None:
    order = await own_order(session, who, callback_data.order_id)
    if order is None or order.category == StateCategory.CANCELLED or order.total <= 0:
        await query.answer(_("Not found."))
        return
    invoices, _total = await list_invoices(session, order.id)
    if invoices:
        invoice = invoices[-1]
    elif left_to_pay(order) > 0:
        invoice = await get_invoice(session, (await create_invoice(session, order.id)).id)
    else:
        await query.answer(_("Not found."))
        return
    order = await get_order(session, order.id)
    customer = await get_customer(session, order.customer_id)
    firm = await get_firm(session)
    await session.commit()
    pdf = render_invoice_pdf(invoice, order, customer, firm, timezone=config.timezone)
    await query.answer()
    await query.bot.send_document(
        query.from_user.id, BufferedInputFile(pdf, filename=f"invoice-{invoice.number}.pdf")
    )


async def repeat(
    query: CallbackQuery, callback_data: OrderCb, session: AsyncSession, who: Who, _: Translate
) -> None:
    order = await own_order(session, who, callback_data.order_id)
    if order is None:
        await query.answer(_("Not found."))
        return
    for line in order.lines:
        if line.product_id is None:
            continue
        try:
            await change_quantity(session, who.telegram_id, line.product_id, line.quantity)
        except DomainError:
            continue  # gone from the catalog since: the rest still goes in
    text, markup = await render_cart(session, who, _)
    await session.commit()
    await query.answer(_("The order's goods are in your cart."))
    await send(query, text, markup)


def make_router() -> Router:
    router = Router(name="orders")
    router.message.register(orders, Command("orders"))
    router.callback_query.register(orders_page, OrdersCb.filter())
    router.callback_query.register(card, OrderCb.filter(F.action == "card"))
    router.callback_query.register(invoice_pdf, OrderCb.filter(F.action == "pdf"))
    router.callback_query.register(repeat, OrderCb.filter(F.action == "repeat"))
    return router
