"""/catalog: groups → products (paged) → a product card with "add to cart" and +/−."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.cache import BotCaches
from bot.callbacks import CartCb, GroupCb, ProductCb
from bot.handlers.common import send, show
from bot.i18n import Translate
from bot.identity import Who
from bot.views import qty, rub
from crm_core.cart.service import quantity_in_cart
from crm_core.catalog.service import get_product, list_groups, list_products, price_of
from crm_core.errors import DomainError
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
    query: CallbackQuery,
    callback_data: GroupCb,
    session: AsyncSession,
    caches: BotCaches,
    _: Translate,
) -> AnswerCallbackQuery | None:
    gid, page = callback_data.group_id, callback_data.page
    group = await session.get(ProductGroup, gid) if gid else None
    if (gid and group is None) or page < 0 or page > 10_000:
        await query.answer(_("This button is outdated."))
        return
    items, total = await list_products(
        session, group=gid or None, active=True, limit=PAGE_SIZE, offset=page * PAGE_SIZE
    )
    kind = await caches.default_price_kind_id(session)
    await session.commit()
    if not items:
        await show(query, _("Nothing here yet."), keyboards.groups(_, []))
        return query.answer()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    title = _(
        "{group}: page {page} of {pages}",
        group=group.name if group else _("All products"),
        page=page + 1,
        pages=pages,
    )
    rows = [(p, price_of(p, kind)) for p in items]
    await show(query, title, keyboards.products(_, rows, group_id=gid, page=page, pages=pages))
    return query.answer()


async def product_card(
    query: CallbackQuery,
    callback_data: ProductCb,
    session: AsyncSession,
    who: Who,
    caches: BotCaches,
    _: Translate,
) -> AnswerCallbackQuery | None:
    try:
        product = await get_product(session, callback_data.product_id)
    except DomainError:
        product = None
    if product is None or not product.active:
        await query.answer(_("This button is outdated."))
        return
    price = price_of(product, await caches.default_price_kind_id(session))
    in_cart = await quantity_in_cart(session, who.telegram_id, product.id)
    await session.commit()
    stock = "∞" if product.kind is ProductKind.SERVICE else f"{qty(product.stock)} {product.unit}"
    text = _(
        "{name}\n{description}\nPrice: {price}\nIn stock: {stock}",
        name=product.name,
        description=(product.description or "")[:700],
        price=rub(price) if price is not None else _("on request"),
        stock=stock,
    )
    markup = keyboards.product_card(_, product.id, in_cart)
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
