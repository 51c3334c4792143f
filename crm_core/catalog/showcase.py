"""The catalog as a customer browses it (the Telegram bot's shop window): a group's page
of active products and one product's card, each in one SELECT of plain rows.

The general reads (``list_products``, ``get_product``) load ORM products with all their
prices in three to five statements (the group, its subtree, a count, the page, the
prices). Browsing needs one price — the default kind's, or a given kind's — and never
changes what it reads, so here the subtree is a recursive CTE, the total a window count,
the price an outer join and the cart's quantity a scalar sub-query: one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, literal, select
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


def _price_join(price_kind_id: int | None):
    kind = literal(price_kind_id) if price_kind_id is not None else default_price_kind_id()
    return and_(ProductPrice.product_id == Product.id, ProductPrice.price_kind_id == kind)


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
    query = (
        select(*_COLUMNS, func.count().over().label("total"))
        .outerjoin(ProductPrice, _price_join(price_kind_id))
        .where(Product.active.is_(True))
        .order_by(Product.name, Product.id)
        .limit(limit)
        .offset(offset)
    )
    if group_id is not None:
        # UNION, not UNION ALL: a cycle in the tree (never made by the core) still ends.
        tree = select(ProductGroup.id).where(ProductGroup.id == group_id).cte(recursive=True)
        tree = tree.union(select(ProductGroup.id).where(ProductGroup.parent_id == tree.c.id))
        name = select(ProductGroup.name).where(ProductGroup.id == group_id).scalar_subquery()
        query = query.add_columns(name.label("group_name")).where(
            Product.group_id.in_(select(tree.c.id))
        )
    rows = (await session.execute(query)).all()
    if rows:
        total = rows[0].total
        return GroupPage(
            rows[0].group_name if group_id is not None else None, [_product(r) for r in rows], total
        )
    if group_id is None:
        return GroupPage(None, [], 0)
    # Nothing on this page: an empty group, a page past the end, or no such group.
    name = await session.scalar(select(ProductGroup.name).where(ProductGroup.id == group_id))
    return GroupPage(name, [], 0) if name is not None else None


async def product_card(
    session: AsyncSession,
    product_id: int,
    *,
    telegram_id: int,
    price_kind_id: int | None = None,
) -> ProductCard | None:
    """An active product with its price (as ``group_page``) and how many of it the
    Telegram user's cart holds; None when there is no such active product."""
    in_cart = (
        select(CartLine.quantity)
        .where(CartLine.telegram_id == telegram_id, CartLine.product_id == Product.id)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(*_COLUMNS, in_cart)
            .outerjoin(ProductPrice, _price_join(price_kind_id))
            .where(Product.id == product_id, Product.active.is_(True))
        )
    ).first()
    if row is None:
        return None
    return ProductCard(_product(row), Decimal(row[-1] or 0))
