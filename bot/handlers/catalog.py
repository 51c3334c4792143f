"""/catalog: groups → products (paged) → a product card with "add to cart" and +/−."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import CartCb, GroupCb, ProductCb
from bot.handlers.common import send, show
from bot.i18n import Translate
from bot.identity import Who
from bot.views import qty, rub
from crm_core.catalog import showcase
from crm_core.catalog.service import list_groups
from crm_core.models import ProductGroup, ProductKind

PAGE_SIZE = 8
CAPTION_MAX = 1024


async def _top_groups(session: AsyncSession) -> list[ProductGroup]:
    return [g for g in await list_groups(session) if g.parent_id is None]


async def catalog(message: Message, session: AsyncSession, _: Translate) -> None:
    items = await _top_groups(session)
    await session.commit()
    await message.answer(_("Catalog: choose a section."), reply_markup=keyboards.groups(_, items))


async def back_to_groups(
    query: CallbackQuery, session: AsyncSession, _: Translate
) -> AnswerCallbackQuery:
    items = await _top_groups(session)
    await session.commit()
    await show(query, _("Catalog: choose a section."), keyboards.groups(_, items))
    return query.answer()  # in the webhook's reply: one request fewer


async def group_page(
    query: CallbackQuery, callback_data: GroupCb, session: AsyncSession, _: Translate
) -> AnswerCallbackQuery | None:
    gid, page = callback_data.group_id, callback_data.page
    if page < 0 or page > 10_000:
        await query.answer(_("This button is outdated."))
        return
    found = await showcase.group_page(
        session, gid or None, limit=PAGE_SIZE, offset=page * PAGE_SIZE
    )
    await session.commit()
    if found is None:  # no such group (any more)
        await query.answer(_("This button is outdated."))
        return
    if not found.products:
        await show(query, _("Nothing here yet."), keyboards.groups(_, []))
        return query.answer()
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    title = _(
        "{group}: page {page} of {pages}",
        group=found.name if gid else _("All products"),
        page=page + 1,
        pages=pages,
    )
    rows = [(p, p.price) for p in found.products]
    await show(query, title, keyboards.products(_, rows, group_id=gid, page=page, pages=pages))
    return query.answer()


async def product_card(
    query: CallbackQuery, callback_data: ProductCb, session: AsyncSession, who: Who, _: Translate
) -> AnswerCallbackQuery | None:
    card = await showcase.product_card(
        session, callback_data.product_id, telegram_id=who.telegram_id
    )
    await session.commit()
    if card is None:  # no such product, or no longer sold
        await query.answer(_("This button is outdated."))
        return
    product, price = card.product, card.product.price
    stock = "∞" if product.kind is ProductKind.SERVICE else f"{qty(product.stock)} {product.unit}"
    text = _(
        "{name}\n{description}\nPrice: {price}\nIn stock: {stock}",
        name=product.name,
        description=(product.description or "")[:700],
        price=rub(price) if price is not None else _("on request"),
        stock=stock,
    )
    markup = keyboards.product_card(_, product.id, card.in_cart)
    if product.image_url:
        await query.bot.send_photo(
            query.from_user.id, product.image_url, caption=text[:CAPTION_MAX], reply_markup=markup
        )
    else:
        await send(query, text, markup)
    return query.answer()


def make_router() -> Router:
    router = Router(name="catalog")
    router.message.register(catalog, Command("catalog"))
    router.callback_query.register(back_to_groups, CartCb.filter(F.action == "groups"))
    router.callback_query.register(group_page, GroupCb.filter())
    router.callback_query.register(product_card, ProductCb.filter())
    return router
