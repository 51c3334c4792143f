"""Batched upserts of products and offers by 1C's Ид (``external_id``).

A catalog has thousands of rows, so each batch is a few SELECTs by ``IN`` and one
flush rather than the catalog service's per-row checks; the rules are the same:
a unique SKU, a known group, VAT one of the Russian rates, services without stock.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import MAX_MONEY, MAX_QUANTITY, VAT_RATES
from crm_core.context import now
from crm_core.exchange.records import OfferRecord, ProductRecord, PropertyRecord
from crm_core.models import Product, ProductKind, ProductPrice, ProductProperty

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
    fresh: dict[str, Product] = {}  # new products: inserted in one statement below
    for record in batch:
        product = found.get(record.external_id) or fresh.get(record.external_id)
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
            # Transient (never added): its columns become one row of a bulk INSERT, which
            # the ORM's unit of work would issue one row at a time.
            product = Product(external_id=record.external_id, created_at=at, stock=Decimal(0))
            fresh[record.external_id] = product
        _apply(product, record, sku, groups, errors)
        product.updated_at = at
        counts["products_created" if created else "products_updated"] += 1
    await session.flush()
    if fresh:
        columns = [c.key for c in Product.__table__.columns if c.key != "id"]
        rows = [{key: getattr(p, key) for key in columns} for p in fresh.values()]
        await session.execute(insert(Product), rows)


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


async def store_properties(
    session: AsyncSession, batch: list[ProductRecord], definitions: dict[str, PropertyRecord]
) -> None:
    """The products' property values by the classifier's names (dictionary values
    resolved); a re-sent product replaces its values."""
    ids = dict(
        (
            await session.execute(
                select(Product.external_id, Product.id).where(
                    Product.external_id.in_([r.external_id for r in batch])
                )
            )
        ).all()
    )
    if not ids:
        return
    await session.execute(
        delete(ProductProperty).where(ProductProperty.product_id.in_(ids.values()))
    )
    rows = []
    for record in batch:
        product_id = ids.get(record.external_id)
        names: set[str] = set()
        for key, value in record.properties.items():
            definition = definitions.get(key)
            name = (definition.name if definition else key).strip()[:200]
            value = (definition.values.get(value, value) if definition else value) or ""
            if product_id is None or not name or not value.strip() or name in names:
                continue
            names.add(name)
            rows.append({"product_id": product_id, "name": name, "value": value.strip()[:1000]})
    if rows:
        await session.execute(insert(ProductProperty), rows)


async def apply_offers(
    session: AsyncSession,
    batch: list[OfferRecord],
    price_kinds: dict[str, int],
    counts: dict[str, int],
    errors: list[dict[str, Any]],
    variants: dict[str, dict] | None = None,
) -> None:
    """Prices and stock onto known products. Offers of characteristics
    ("<product>#<variant>", sizes, colours) land on their product: its stock is the
    sum over the variants, its price the lowest ("from") of theirs."""
    variants = {} if variants is None else variants
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
    fresh: dict[tuple[int, int], dict[str, Any]] = {}  # new prices, one INSERT below
    for record in batch:
        product = products.get(record.external_id)
        if product is None and "#" in record.external_id:
            product = products.get(record.external_id.split("#")[0])
            if product is not None:
                record = _merge_variant(variants, product.external_id, record)
                counts["variant_offers"] += 1
        if product is None:
            counts["offers_skipped"] += 1
            note(errors, record.external_id, "offer of a product not in the catalog")
            continue
        if record.prices is not None:
            _set_prices(product, record, price_kinds, errors, fresh)
        if record.quantity is not None and product.kind is ProductKind.GOODS:
            # 1C is the master of stock: it sends the absolute balance, not a change.
            quantity = record.quantity.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
            product.stock = max(min(quantity, MAX_QUANTITY), -MAX_QUANTITY)
        product.updated_at = at
        counts["offers_applied"] += 1
    await session.flush()
    if fresh:
        await session.execute(insert(ProductPrice), list(fresh.values()))


def _merge_variant(variants: dict[str, dict], base: str, record: OfferRecord) -> OfferRecord:
    """The running total of a product's variants in this step, as one offer."""
    seen = variants.setdefault(base, {"prices": None, "quantity": None})
    if record.prices is not None:
        prices = dict(seen["prices"] or {})
        for kind, value in record.prices.items():
            prices[kind] = min(value, prices.get(kind, value))
        seen["prices"] = prices
    if record.quantity is not None:
        seen["quantity"] = (seen["quantity"] or Decimal(0)) + max(record.quantity, Decimal(0))
    return OfferRecord(base, seen["prices"], seen["quantity"])


def _set_prices(
    product: Product,
    record: OfferRecord,
    price_kinds: dict[str, int],
    errors: list[dict[str, Any]],
    fresh: dict[tuple[int, int], dict[str, Any]],
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
            fresh[(product.id, kind_id)] = {
                "product_id": product.id,
                "price_kind_id": kind_id,
                "price": price,
            }
