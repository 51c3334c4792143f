"""The catalog as exchange records, read in batches: what Firma sends a store as
``import.xml`` (groups, properties, products) and ``offers.xml`` (prices, stock)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

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


async def _batches(session: AsyncSession) -> AsyncIterator[list]:
    """Active products as plain rows (no ORM objects: 50,000 of them stay cheap),
    ``BATCH`` at a time in id order."""
    last = 0
    while True:
        rows = (
            await session.execute(
                select(*_COLUMNS)
                .where(Product.id > last, Product.active.is_(True))
                .order_by(Product.id)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


async def export_products(session: AsyncSession) -> AsyncIterator[ProductRecord]:
    groups = {
        g.id: g.external_id or f"firma-group-{g.id}"
        for g in await session.scalars(select(ProductGroup))
    }
    async for batch in _batches(session):
        values: dict[int, dict[str, str]] = {}
        rows = await session.execute(
            select(ProductProperty.product_id, ProductProperty.name, ProductProperty.value).where(
                ProductProperty.product_id.in_([p.id for p in batch])
            )
        )
        for product_id, name, value in rows:
            values.setdefault(product_id, {})[property_id(name)] = value
        for p in batch:
            yield ProductRecord(
                external_id=product_external_id(p.id, p.external_id),
                name=p.name,
                sku=p.sku,
                unit=p.unit,
                description=p.description,
                image=p.image_url,
                group_external_ids=[groups[p.group_id]] if p.group_id in groups else [],
                properties=values.get(p.id, {}),
                vat_rate=p.vat_rate,
                is_service=p.kind == ProductKind.SERVICE,
            )


async def export_offers(session: AsyncSession) -> AsyncIterator[OfferRecord]:
    kinds = {
        k.id: k.external_id or f"firma-price-{k.code}"
        for k in await session.scalars(select(PriceKind))
    }
    async for batch in _batches(session):
        prices: dict[int, dict] = {}
        rows = await session.execute(
            select(ProductPrice.product_id, ProductPrice.price_kind_id, ProductPrice.price).where(
                ProductPrice.product_id.in_([p.id for p in batch])
            )
        )
        for product_id, kind_id, price in rows:
            if kind_id in kinds:
                prices.setdefault(product_id, {})[kinds[kind_id]] = price
        for p in batch:
            yield OfferRecord(
                external_id=product_external_id(p.id, p.external_id),
                prices=prices.get(p.id, {}),
                quantity=p.stock if p.kind == ProductKind.GOODS else None,
            )
