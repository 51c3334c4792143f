"""Goods and services: create, change, read, list; prices per price kind; stock."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from crm_core.catalog.common import check_vat_rate, clean, to_decimal
from crm_core.catalog.groups import (
    create_group,
    default_price_kind,
    descendant_ids,
    list_groups,
    list_price_kinds,
    price_kind_by_code,
    resolve_group,
)
from crm_core.context import now
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import PriceKind, Product, ProductKind, ProductPrice
from crm_core.text_search import contains

__all__ = [
    "adjust_stock",
    "create_group",
    "create_product",
    "default_price_kind",
    "get_product",
    "list_groups",
    "list_price_kinds",
    "list_products",
    "price_of",
    "update_product",
]


def _kind(value: ProductKind | str) -> ProductKind:
    try:
        return ProductKind(value)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown product kind {value!r}", field="kind") from exc


async def _check_sku(session: AsyncSession, sku: str | None, product_id: int | None) -> None:
    if sku is None:
        return
    query = select(Product.id).where(Product.sku == sku)
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if await session.scalar(query):
        raise Conflict(f"A product with SKU {sku!r} already exists", field="sku")


async def _set_prices(
    session: AsyncSession, product: Product, prices: Mapping[str, Any | None]
) -> None:
    """Set the given price kinds' prices; a None value removes that price."""
    current = {p.price_kind_id: p for p in product.prices}
    for code, value in prices.items():
        kind = await price_kind_by_code(session, code, field=f"prices.{code}")
        if value is None:
            if kind.id in current:
                product.prices.remove(current[kind.id])
            continue
        price = to_decimal(value, field=f"prices.{code}", places=2, minimum=Decimal(0))
        if kind.id in current:
            current[kind.id].price = price
        else:
            product.prices.append(ProductPrice(price_kind_id=kind.id, price=price))


def _check_stock(kind: ProductKind, stock: Any) -> Decimal:
    value = to_decimal(stock if stock is not None else 0, field="stock", places=3)
    if kind is ProductKind.SERVICE and value != 0:
        raise ValidationFailed("A service has no stock", field="stock")
    return value


async def create_product(
    session: AsyncSession,
    *,
    name: str,
    sku: str | None = None,
    kind: ProductKind | str = ProductKind.GOODS,
    unit: str | None = None,
    group: int | str | None = None,
    group_id: int | None = None,
    description: str | None = None,
    image_url: str | None = None,
    vat_rate: Any = None,
    active: bool = True,
    stock: Any = None,
    prices: Mapping[str, Any] | None = None,
    external_id: str | None = None,
) -> Product:
    """Add a good or a service; ``group`` is an id or a name (a new group for a new name)."""
    kind = _kind(kind)
    sku = clean(sku, field="sku", max_length=100)
    await _check_sku(session, sku, None)
    found = await resolve_group(session, group_id if group_id is not None else group, create=True)
    at = now(session)
    product = Product(
        sku=sku,
        name=clean(name, field="name", max_length=300, required=True),
        kind=kind,
        unit=clean(unit, field="unit", max_length=20) or "шт",
        group_id=found.id if found else None,
        description=clean(description, field="description", max_length=20000),
        image_url=clean(image_url, field="image_url", max_length=500),
        vat_rate=check_vat_rate(vat_rate),
        stock=_check_stock(kind, stock),
        active=active,
        external_id=external_id,
        created_at=at,
        updated_at=at,
    )
    product.prices = []
    await _set_prices(session, product, prices or {})
    session.add(product)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same SKU won the race
        raise Conflict(f"A product with SKU {sku!r} already exists", field="sku") from exc
    return product


async def get_product(session: AsyncSession, product_id: int) -> Product:
    """One product with its prices."""
    product = await session.scalar(
        select(Product)
        .where(Product.id == product_id)
        .options(selectinload(Product.prices))
        .execution_options(populate_existing=True)
    )
    if product is None:
        raise NotFound(f"Product {product_id} not found")
    return product


async def update_product(session: AsyncSession, product_id: int, **fields: Any) -> Product:
    """Change the given fields; ``prices`` merges by price kind code (None removes one)."""
    product = await get_product(session, product_id)
    if "kind" in fields and fields["kind"] is not None:
        product.kind = _kind(fields["kind"])
    if "sku" in fields:
        sku = clean(fields["sku"], field="sku", max_length=100)
        await _check_sku(session, sku, product_id)
        product.sku = sku
    if fields.get("name") is not None:
        product.name = clean(fields["name"], field="name", max_length=300, required=True)
    if fields.get("unit") is not None:
        product.unit = clean(fields["unit"], field="unit", max_length=20) or "шт"
    if "group" in fields or "group_id" in fields:
        value = fields.get("group_id", fields.get("group"))
        found = await resolve_group(session, value, create=True)
        product.group_id = found.id if found else None
    for key, limit in (("description", 20000), ("image_url", 500)):
        if key in fields:
            setattr(product, key, clean(fields[key], field=key, max_length=limit))
    if "vat_rate" in fields:
        product.vat_rate = check_vat_rate(fields["vat_rate"])
    if fields.get("active") is not None:
        product.active = bool(fields["active"])
    if "stock" in fields and fields["stock"] is not None:
        product.stock = _check_stock(product.kind, fields["stock"])
    elif product.kind is ProductKind.SERVICE:
        product.stock = Decimal(0)
    if fields.get("prices") is not None:
        await _set_prices(session, product, fields["prices"])
    product.updated_at = now(session)
    await session.flush()
    return product


async def list_products(
    session: AsyncSession,
    *,
    q: str | None = None,
    group: int | str | None = None,
    active: bool | None = None,
    kind: ProductKind | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Product], int]:
    """Products by name, with prices; ``q`` matches SKU or name, ``group`` its subtree."""
    query = select(Product)
    if q and q.strip():
        text = q.strip()
        query = query.where(
            or_(contains(session, Product.name, text), contains(session, Product.sku, text))
        )
    if group not in (None, ""):
        found = await resolve_group(session, group)
        query = query.where(Product.group_id.in_(await descendant_ids(session, found.id)))
    if active is not None:
        query = query.where(Product.active.is_(active))
    if kind is not None:
        query = query.where(Product.kind == _kind(kind))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.options(selectinload(Product.prices))
        .order_by(Product.name, Product.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


def price_of(product: Product, price_kind: PriceKind | int | None) -> Decimal | None:
    """The product's price of that kind (prices loaded), or None when it has none."""
    if price_kind is None:
        return None
    kind_id = price_kind if isinstance(price_kind, int) else price_kind.id
    for price in product.prices:
        if price.price_kind_id == kind_id:
            return price.price
    return None


async def adjust_stock(session: AsyncSession, product_id: int, delta: Decimal) -> Decimal | None:
    """Add ``delta`` (negative to take) to a good's stock in one UPDATE; services: None.

    Stock may go below zero: a CRM's stock lags the warehouse, and refusing a real
    shipment because the count is stale would be worse than a negative number.
    """
    table = Product.__table__
    result = await session.execute(
        update(table)
        .where(table.c.id == product_id, table.c.kind == ProductKind.GOODS.value)
        .values(stock=table.c.stock + delta)
        .returning(table.c.stock)
    )
    value = result.scalar_one_or_none()
    product = session.identity_map.get(identity_key(Product, product_id))
    if product is not None and value is not None:
        set_committed_value(product, "stock", value)
    return value
