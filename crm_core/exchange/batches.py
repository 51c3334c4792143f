"""Batched upserts of products and offers by 1C's Ид (``external_id``).

A catalog has thousands of rows, so each batch is a few SELECTs by ``IN`` and one
flush rather than the catalog service's per-row checks; the rules are the same:
a unique SKU, a known group, VAT one of the Russian rates, services without stock.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import MAX_MONEY, MAX_QUANTITY, VAT_RATES
from crm_core.context import now
from crm_core.exchange.records import OfferRecord, ProductRecord
from crm_core.models import Product, ProductKind, ProductPrice

MAX_ERRORS = 100


def note(errors: list[dict[str, Any]], external_id: str, message: str) -> None:
    """Keep a bounded list of per-record problems for the exchange log."""
    if len(errors) < MAX_ERRORS:
        errors.append({"id": external_id, "error": message})


def _cut(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


async def upsert_products(
    session: AsyncSession,
    batch: list[ProductRecord],
    groups: dict[str, int],
    counts: dict[str, int],
    errors: list[dict[str, Any]],
) -> None:
    ids = [r.external_id for r in batch]
    found = {
        p.external_id: p
        for p in await session.scalars(select(Product).where(Product.external_id.in_(ids)))
    }
    skus = {r.sku for r in batch if r.sku}
    owners: dict[str, Product] = {}
    if skus:
        owners = {
            p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(skus)))
        }
    at = now(session)
    taken: set[str] = set()
    for record in batch:
        product = found.get(record.external_id)
        sku = _cut(record.sku, 100)
        owner = owners.get(sku) if sku else None
        if product is None and owner is not None and owner.external_id is None:
            # A product typed into Firma before the first exchange: link it, not double it.
            product, owner = owner, None
            product.external_id = record.external_id
        if sku and (sku in taken or (owner is not None and owner is not product)):
            note(errors, record.external_id, f"SKU {sku!r} belongs to another product; not set")
            sku = product.sku if product is not None else None
        if sku:
            taken.add(sku)
        created = product is None
        if created:
            product = Product(external_id=record.external_id, created_at=at, stock=Decimal(0))
            product.prices = []
            session.add(product)
        _apply(product, record, sku, groups, errors)
        product.updated_at = at
        counts["products_created" if created else "products_updated"] += 1
    await session.flush()


def _apply(
    product: Product,
    record: ProductRecord,
    sku: str | None,
    groups: dict[str, int],
    errors: list[dict[str, Any]],
) -> None:
    product.sku = sku
    product.name = _cut(record.name, 300) or record.external_id[:300]
    product.kind = ProductKind.SERVICE if record.is_service else ProductKind.GOODS
    if product.kind is ProductKind.SERVICE:
        product.stock = Decimal(0)
    product.unit = _cut(record.unit, 20) or product.unit or "шт"
    product.description = _cut(record.description, 20000)
    product.image_url = _cut(record.image, 500)
    product.active = not record.deleted
    group_id = next((groups[g] for g in record.group_external_ids if g in groups), None)
    if record.group_external_ids and group_id is None:
        note(errors, record.external_id, "its group is not in the classifier")
    product.group_id = group_id
    rate = record.vat_rate
    if rate is not None and rate not in VAT_RATES:
        note(errors, record.external_id, f"VAT rate {rate} is not a Russian rate; left empty")
        rate = None
    product.vat_rate = rate


async def apply_offers(
    session: AsyncSession,
    batch: list[OfferRecord],
    price_kinds: dict[str, int],
    counts: dict[str, int],
    errors: list[dict[str, Any]],
) -> None:
    """Prices and stock onto known products; an offer of a characteristic
    ("<product>#<variant>") lands on its product until variants are modelled."""
    wanted = {r.external_id for r in batch} | {r.external_id.split("#")[0] for r in batch}
    products = {
        p.external_id: p
        for p in await session.scalars(
            select(Product)
            .where(Product.external_id.in_(wanted))
            .options(selectinload(Product.prices))
        )
    }
    at = now(session)
    for record in batch:
        product = products.get(record.external_id) or products.get(record.external_id.split("#")[0])
        if product is None:
            counts["offers_skipped"] += 1
            note(errors, record.external_id, "offer of a product not in the catalog")
            continue
        if record.prices is not None:
            _set_prices(product, record, price_kinds, errors)
        if record.quantity is not None and product.kind is ProductKind.GOODS:
            # 1C is the master of stock: it sends the absolute balance, not a change.
            quantity = record.quantity.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
            product.stock = max(min(quantity, MAX_QUANTITY), -MAX_QUANTITY)
        product.updated_at = at
        counts["offers_applied"] += 1
    await session.flush()


def _set_prices(
    product: Product,
    record: OfferRecord,
    price_kinds: dict[str, int],
    errors: list[dict[str, Any]],
) -> None:
    current = {p.price_kind_id: p for p in product.prices}
    for kind_external_id, value in (record.prices or {}).items():
        kind_id = price_kinds.get(kind_external_id)
        if kind_id is None:
            note(errors, record.external_id, f"unknown price type {kind_external_id}")
            continue
        if value < 0 or value > MAX_MONEY:
            note(errors, record.external_id, f"price {value} out of range")
            continue
        price = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if kind_id in current:
            current[kind_id].price = price
        else:
            product.prices.append(ProductPrice(price_kind_id=kind_id, price=price))
