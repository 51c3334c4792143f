"""The catalog as exchange records, read in batches: what Firma sends a store as
``import.xml`` (groups, properties, products) and ``offers.xml`` (prices, stock)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.exchange.order_documents import product_external_id
from crm_core.exchange.records import (
    GroupRecord,
    OfferRecord,
    PriceTypeRecord,
    ProductRecord,
    PropertyRecord,
)
from crm_core.models import (
    PriceKind,
    Product,
    ProductGroup,
    ProductKind,
    ProductPrice,
    ProductProperty,
)

BATCH = 1000


def property_id(name: str) -> str:
    return "prop-" + hashlib.sha1(name.encode()).hexdigest()[:16]


async def export_groups(session: AsyncSession) -> list[GroupRecord]:
    groups = list(await session.scalars(select(ProductGroup).order_by(ProductGroup.position)))
    ext = {g.id: g.external_id or f"firma-group-{g.id}" for g in groups}
    return [GroupRecord(ext[g.id], g.name, ext.get(g.parent_id)) for g in groups]


async def export_properties(session: AsyncSession) -> list[PropertyRecord]:
    names = await session.scalars(
        select(ProductProperty.name).distinct().order_by(ProductProperty.name)
    )
    return [PropertyRecord(property_id(n), n) for n in names]


async def export_price_types(session: AsyncSession) -> list[PriceTypeRecord]:
    kinds = await session.scalars(select(PriceKind).order_by(PriceKind.id))
    return [
        PriceTypeRecord(k.external_id or f"firma-price-{k.code}", k.name, k.currency) for k in kinds
    ]


async def properties_by_product(
    session: AsyncSession, product_ids: list[int]
) -> dict[int, dict[str, str]]:
    """Product id -> {property name: value} (from the accounting system's classifier)."""
    result: dict[int, dict[str, str]] = {}
    if not product_ids:
        return result
    rows = await session.execute(
        select(ProductProperty.product_id, ProductProperty.name, ProductProperty.value)
        .where(ProductProperty.product_id.in_(product_ids))
        .order_by(ProductProperty.product_id, ProductProperty.name)
    )
    for product_id, name, value in rows:
        result.setdefault(product_id, {})[name] = value
    return result


_COLUMNS = (
    Product.id,
    Product.external_id,
    Product.sku,
    Product.name,
    Product.unit,
    Product.description,
    Product.image_url,
    Product.group_id,
    Product.vat_rate,
    Product.kind,
    Product.stock,
)


async def _joined(session: AsyncSession, *extra) -> AsyncIterator[tuple[Any, list]]:
    """Active products as plain rows (no ORM objects: 50,000 of them stay cheap) in
    id order, each with the rows of ``extra`` columns of its outer-joined table: one
    query streamed ``BATCH`` rows at a time rather than two queries per batch."""
    joined = extra[0].table
    query = (
        select(*_COLUMNS, *extra)
        .outerjoin(joined, joined.c.product_id == Product.id)
        .where(Product.active.is_(True))
        .order_by(Product.id, joined.c.id)
        .execution_options(yield_per=BATCH)
    )
    width = len(_COLUMNS)
    current, values = None, []
    result = await session.stream(query)
    async for partition in result.partitions():
        for row in partition:
            if current is None or row[0] != current[0]:
                if current is not None:
                    yield current, values
                current, values = row, []
            if row[width] is not None:
                values.append(row[width:])
    if current is not None:
        yield current, values


async def export_products(session: AsyncSession) -> AsyncIterator[ProductRecord]:
    groups = {
        g.id: g.external_id or f"firma-group-{g.id}"
        for g in await session.scalars(select(ProductGroup))
    }
    names: dict[str, str] = {}  # property name -> its Ид, hashed once per name
    extra = (ProductProperty.__table__.c.name, ProductProperty.__table__.c.value)
    async for p, values in _joined(session, *extra):
        properties = {}
        for name, value in values:
            key = names.get(name)
            if key is None:
                key = names[name] = property_id(name)
            properties[key] = value
        yield ProductRecord(
            external_id=product_external_id(p.id, p.external_id),
            name=p.name,
            sku=p.sku,
            unit=p.unit,
            description=p.description,
            image=p.image_url,
            group_external_ids=[groups[p.group_id]] if p.group_id in groups else [],
            properties=properties,
            vat_rate=p.vat_rate,
            is_service=p.kind == ProductKind.SERVICE,
        )


async def export_offers(session: AsyncSession) -> AsyncIterator[OfferRecord]:
    kinds = {
        k.id: k.external_id or f"firma-price-{k.code}"
        for k in await session.scalars(select(PriceKind))
    }
    extra = (ProductPrice.__table__.c.price_kind_id, ProductPrice.__table__.c.price)
    async for p, values in _joined(session, *extra):
        yield OfferRecord(
            external_id=product_external_id(p.id, p.external_id),
            prices={kinds[k]: price for k, price in values if k in kinds},
            quantity=p.stock if p.kind == ProductKind.GOODS else None,
        )
