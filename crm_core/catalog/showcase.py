"""The catalog as a customer browses it (the Telegram bot's shop window): a group's page
of active products and one product's card, each in one SELECT of plain rows.

The general reads (``list_products``, ``get_product``) load ORM products with all their
prices in three to five statements (the group, its subtree, a count, the page, the
prices). Browsing needs one price — the default kind's, or a given kind's — and never
changes what it reads, so here the subtree is a recursive CTE, the total a window count,
the price an outer join and the cart's quantity a scalar sub-query: one round trip.

Each statement is built once per shape (``functools.cache``) with bind parameters for
its values: building a statement of this size and computing its cache key cost about
half a millisecond of CPU per call, more than SQLite takes to run it; a statement
object built once keeps its cache key (``bench/bot.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from sqlalchemy import Integer, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import CartLine, PriceKind, Product, ProductGroup, ProductKind, ProductPrice


@dataclass(frozen=True, slots=True)
class ShowcaseProduct:
    id: int
    name: str
    kind: ProductKind
    unit: str
    stock: Decimal
    description: str | None
    image_url: str | None
    price: Decimal | None  # None: no price of that kind


@dataclass(frozen=True, slots=True)
class GroupPage:
    name: str | None  # None: every group ("all products")
    products: list[ShowcaseProduct]
    total: int  # active products in the group's subtree (0 when the page is past the end)


@dataclass(frozen=True, slots=True)
class ProductCard:
    product: ShowcaseProduct
    in_cart: Decimal


def default_price_kind_id():
    """The default price kind's id as a scalar sub-query (as ``default_price_kind``)."""
    return (
        select(PriceKind.id)
        .order_by(PriceKind.is_default.desc(), PriceKind.id)
        .limit(1)
        .scalar_subquery()
    )


def price_kind(given: bool):
    """The price kind a statement reads: the bound ``price_kind_id`` when one is
    ``given``, else the default kind (a sub-query)."""
    return bindparam("price_kind_id", type_=Integer) if given else default_price_kind_id()


def _price_join(given_kind: bool):
    return and_(
        ProductPrice.product_id == Product.id, ProductPrice.price_kind_id == price_kind(given_kind)
    )


_COLUMNS = (
    Product.id,
    Product.name,
    Product.kind,
    Product.unit,
    Product.stock,
    Product.description,
    Product.image_url,
    ProductPrice.price,
)


def _product(row) -> ShowcaseProduct:
    return ShowcaseProduct(*row[: len(_COLUMNS)])


@cache
def _group_page_query(in_group: bool, given_kind: bool):
    query = (
        select(*_COLUMNS, func.count().over().label("total"))
        .outerjoin(ProductPrice, _price_join(given_kind))
        .where(Product.active.is_(True))
        .order_by(Product.name, Product.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    if in_group:
        group_id = bindparam("group_id", type_=Integer)
        # UNION, not UNION ALL: a cycle in the tree (never made by the core) still ends.
        tree = select(ProductGroup.id).where(ProductGroup.id == group_id).cte(recursive=True)
        tree = tree.union(select(ProductGroup.id).where(ProductGroup.parent_id == tree.c.id))
        name = select(ProductGroup.name).where(ProductGroup.id == group_id).scalar_subquery()
        query = query.add_columns(name.label("group_name")).where(
            Product.group_id.in_(select(tree.c.id))
        )
    return query


_GROUP_NAME = select(ProductGroup.name).where(
    ProductGroup.id == bindparam("group_id", type_=Integer)
)


async def group_page(
    session: AsyncSession,
    group_id: int | None,
    *,
    limit: int,
    offset: int = 0,
    price_kind_id: int | None = None,
) -> GroupPage | None:
    """A page of the active products of a group's subtree (every group when
    ``group_id`` is None), by name, with the price of ``price_kind_id`` (default: the
    default kind). None when the group does not exist."""
    query = _group_page_query(group_id is not None, price_kind_id is not None)
    params = {"limit": limit, "offset": offset}
    if group_id is not None:
        params["group_id"] = group_id
    if price_kind_id is not None:
        params["price_kind_id"] = price_kind_id
    rows = (await session.execute(query, params)).all()
    if rows:
        total = rows[0].total
        return GroupPage(
            rows[0].group_name if group_id is not None else None, [_product(r) for r in rows], total
        )
    if group_id is None:
        return GroupPage(None, [], 0)
    # Nothing on this page: an empty group, a page past the end, or no such group.
    name = await session.scalar(_GROUP_NAME, {"group_id": group_id})
    return GroupPage(name, [], 0) if name is not None else None


@cache
def _card_query(given_kind: bool):
    in_cart = (
        select(CartLine.quantity)
        .where(CartLine.telegram_id == bindparam("telegram_id"), CartLine.product_id == Product.id)
        .scalar_subquery()
    )
    return (
        select(*_COLUMNS, in_cart)
        .outerjoin(ProductPrice, _price_join(given_kind))
        .where(Product.id == bindparam("product_id", type_=Integer), Product.active.is_(True))
    )


async def product_card(
    session: AsyncSession,
    product_id: int,
    *,
    telegram_id: int,
    price_kind_id: int | None = None,
) -> ProductCard | None:
    """An active product with its price (as ``group_page``) and how many of it the
    Telegram user's cart holds; None when there is no such active product."""
    params = {"telegram_id": telegram_id, "product_id": product_id}
    if price_kind_id is not None:
        params["price_kind_id"] = price_kind_id
    row = (await session.execute(_card_query(price_kind_id is not None), params)).first()
    if row is None:
        return None
    return ProductCard(_product(row), Decimal(row[-1] or 0))
