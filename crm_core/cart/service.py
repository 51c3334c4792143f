"""Cart use cases: add, change, clear, read with prices, turn into order lines.

Quantities change in one statement (``INSERT ... ON CONFLICT DO UPDATE``), so two
taps arriving at once on "+" both count, on SQLite and PostgreSQL alike.

The statements a bot update runs are built once per shape with bind parameters
(``functools.cache``; see ``crm_core.catalog.showcase``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from sqlalchemy import Integer, and_, bindparam, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.common import money
from crm_core.catalog.showcase import price_kind
from crm_core.context import now
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import CartLine, Product, ProductPrice
from crm_core.orders.lines import LineInput

MAX_QUANTITY = Decimal(9999)
MAX_LINES = 50


@dataclass(frozen=True, slots=True)
class CartProduct:
    """What a cart shows and orders of a product (a plain row, not the ORM product)."""

    id: int
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class CartItem:
    product: CartProduct
    quantity: Decimal
    price: Decimal | None  # None: the product has no price of the default kind

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * (self.price or 0))


_QUANTITY = CartLine.__table__.c.quantity.type
_TELEGRAM_ID = CartLine.__table__.c.telegram_id.type
_AT = CartLine.__table__.c.updated_at.type


def _lines_in_cart():
    """How many lines the bound ``telegram_id``'s cart has (a scalar sub-query)."""
    return (
        select(func.count())
        .where(CartLine.telegram_id == bindparam("telegram_id", type_=_TELEGRAM_ID))
        .scalar_subquery()
    )


@cache
def _product_check(adding: bool):
    """The product's ``active`` flag and, when adding, how many lines the cart has (why
    ``_upsert`` wrote nothing)."""
    return select(Product.active, _lines_in_cart() if adding else literal(0)).where(
        Product.id == bindparam("product_id", type_=Integer)
    )


@cache
def _upsert(dialect_name: str, adding: bool):
    """Add ``delta`` to a line, or make it with ``initial`` (``delta`` when positive),
    only for an active product and, when adding, a cart with room for a line: the checks
    are the INSERT's SELECT, so a tap is one statement (no row back: a check failed)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    at = bindparam("at", type_=_AT)
    source = select(
        bindparam("telegram_id", type_=_TELEGRAM_ID),
        Product.id,
        bindparam("initial", type_=_QUANTITY),
        at,
        at,
    ).where(Product.id == bindparam("product_id", type_=Integer), Product.active.is_(True))
    if adding:
        source = source.where(_lines_in_cart() < bindparam("max_lines", type_=Integer))
    lines_table = CartLine.__table__  # a Core INSERT: the ORM's bulk path takes no SELECT
    c = lines_table.c
    stmt = dialect.insert(lines_table).from_select(
        [c.telegram_id, c.product_id, c.quantity, c.created_at, c.updated_at], source
    )
    least = func.min if dialect_name == "sqlite" else func.least
    new = c.quantity + bindparam("delta", type_=_QUANTITY)
    return stmt.on_conflict_do_update(
        index_elements=[c.telegram_id, c.product_id],
        set_={"quantity": least(new, MAX_QUANTITY), "updated_at": at},
    ).returning(c.quantity)


async def change_quantity(
    session: AsyncSession, telegram_id: int, product_id: int, delta: Decimal
) -> Decimal:
    """Add ``delta`` (negative to take away) to a cart line; at 0 the line goes away.

    Returns the new quantity. An unknown or inactive product is a NotFound; a new line
    in a cart of ``MAX_LINES`` (or any addition to it) a ValidationFailed."""
    ids = {"telegram_id": telegram_id, "product_id": product_id}
    params = ids | {"initial": max(delta, Decimal(0)), "delta": delta, "at": now(session)}
    if delta > 0:
        params["max_lines"] = MAX_LINES
    stmt = _upsert(session.bind.dialect.name, delta > 0)
    quantity = (await session.execute(stmt, params)).scalar()
    if quantity is None:  # a check failed: read which, for the answer
        found = (await session.execute(_product_check(delta > 0), ids)).first()
        if found is None or not found[0]:
            raise NotFound(f"Product {product_id} not found")
        raise ValidationFailed(f"At most {MAX_LINES} lines in a cart", field="product_id")
    if quantity <= 0:
        await session.execute(
            delete(CartLine).where(
                CartLine.telegram_id == telegram_id, CartLine.product_id == product_id
            )
        )
        return Decimal(0)
    return Decimal(quantity)


async def clear_cart(session: AsyncSession, telegram_id: int) -> int:
    """Empty the cart; returns how many lines it had (0: someone emptied it first)."""
    result = await session.execute(delete(CartLine).where(CartLine.telegram_id == telegram_id))
    return result.rowcount or 0


@cache
def _cart_query(given_kind: bool):
    kind = price_kind(given_kind)
    return (
        select(CartLine.quantity, Product.id, Product.name, Product.active, ProductPrice.price)
        .join(Product, Product.id == CartLine.product_id)
        .outerjoin(
            ProductPrice,
            and_(ProductPrice.product_id == Product.id, ProductPrice.price_kind_id == kind),
        )
        .where(CartLine.telegram_id == bindparam("telegram_id"))
        .order_by(CartLine.id)
    )


async def cart_items(
    session: AsyncSession, telegram_id: int, *, price_kind_id: int | None = None
) -> list[CartItem]:
    """The cart's lines with their products and prices of ``price_kind_id`` (default:
    the default price kind), oldest first: one SELECT of plain rows."""
    params = {"telegram_id": telegram_id}
    if price_kind_id is not None:
        params["price_kind_id"] = price_kind_id
    rows = await session.execute(_cart_query(price_kind_id is not None), params)
    return [
        CartItem(CartProduct(pid, name, active), Decimal(q), price)
        for q, pid, name, active, price in rows
    ]


def cart_total(items: list[CartItem]) -> Decimal:
    return money(sum((item.amount for item in items), Decimal(0)))


def order_lines(items: list[CartItem]) -> list[LineInput]:
    """Order lines for the active, priced products of the cart (prices from the catalog)."""
    return [
        LineInput(product_id=item.product.id, quantity=item.quantity)
        for item in items
        if item.product.active and item.price is not None
    ]


async def quantity_in_cart(session: AsyncSession, telegram_id: int, product_id: int) -> Decimal:
    """How many of a product the cart holds (0 when none)."""
    value = await session.scalar(
        select(CartLine.quantity).where(
            CartLine.telegram_id == telegram_id, CartLine.product_id == product_id
        )
    )
    return Decimal(value or 0)
