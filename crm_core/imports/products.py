"""Products from rows: matched by SKU (or, without one, by the exact name), created or
updated with what the row gives — an empty cell leaves a field as it is, so a price
list with only SKU and price updates prices and nothing else.

Prices: ``price`` is the default price kind's; ``price:<code>`` any other kind's.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import check_vat_rate, clean, to_decimal
from crm_core.catalog.groups import (
    default_price_kind,
    list_groups,
    list_price_kinds,
    resolve_group,
)
from crm_core.catalog.service import create_product, get_product, update_product
from crm_core.context import now
from crm_core.errors import DomainError, ValidationFailed
from crm_core.imports.rows import (
    CREATED,
    ERROR,
    UNCHANGED,
    UPDATED,
    ImportRow,
    RowResult,
    error_result,
)
from crm_core.models import Product, ProductKind, ProductPrice

FIELDS = (
    "sku",
    "name",
    "kind",
    "unit",
    "group",
    "description",
    "price",
    "stock",
    "vat_rate",
    "active",
    "image_url",
)
PRICE_PREFIX = "price:"
KINDS = {
    "goods": ProductKind.GOODS,
    "товар": ProductKind.GOODS,
    "service": ProductKind.SERVICE,
    "услуга": ProductKind.SERVICE,
}
TRUE = {"1", "yes", "true", "да", "y", "+"}
FALSE = {"0", "no", "false", "нет", "n", "-"}


def _number(text: str) -> str:
    # "1 250,50" as Russian spreadsheets write it -> "1250.50"
    return text.replace("\u00a0", "").replace(" ", "").replace(",", ".")


async def _price_codes(session: AsyncSession) -> tuple[str | None, set[str]]:
    default = await default_price_kind(session)
    kinds = await list_price_kinds(session)
    return (default.code if default else None), {k.code for k in kinds}


def _fields(row: ImportRow, default_code: str | None, codes: set[str]) -> dict[str, Any]:
    """The row's product fields, checked; only the cells that are filled."""
    out: dict[str, Any] = {}
    for key in ("sku", "name", "unit", "group", "description", "image_url"):
        value = row.get(key)
        if value is not None:
            out[key] = value
    if (kind := row.get("kind")) is not None:
        if kind.lower() not in KINDS:
            raise ValidationFailed(f"Unknown product kind {kind!r}", field="kind")
        out["kind"] = KINDS[kind.lower()]
    if (stock := row.get("stock")) is not None:
        out["stock"] = to_decimal(_number(stock), field="stock", places=3)
    if (vat := row.get("vat_rate")) is not None:
        out["vat_rate"] = check_vat_rate(_number(vat).rstrip("%"))
    if (active := row.get("active")) is not None:
        if active.lower() not in TRUE | FALSE:
            raise ValidationFailed(f"active must be yes or no, not {active!r}", field="active")
        out["active"] = active.lower() in TRUE
    prices: dict[str, Decimal] = {}
    for key in row.values:
        if key == "price" or key.startswith(PRICE_PREFIX):
            value = row.get(key)
            if value is None:
                continue
            code = default_code if key == "price" else key[len(PRICE_PREFIX) :]
            if code is None or code not in codes:
                raise ValidationFailed(f"Unknown price kind {code!r}", field=key)
            prices[code] = to_decimal(_number(value), field=key, places=2, minimum=Decimal(0))
    if prices:
        out["prices"] = prices
    return out


async def _find(session: AsyncSession, fields: dict[str, Any]) -> int | None:
    if "sku" in fields:
        return await session.scalar(select(Product.id).where(Product.sku == fields["sku"]))
    if "name" in fields:
        return await session.scalar(
            select(Product.id)
            .where(Product.name == fields["name"], Product.sku.is_(None))
            .order_by(Product.id)
            .limit(1)
        )
    raise ValidationFailed("A SKU or a name is required", field="sku")


async def preview_products(session: AsyncSession, rows: Sequence[ImportRow]) -> list[RowResult]:
    """What importing ``rows`` would do; writes nothing."""
    default_code, codes = await _price_codes(session)
    results = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            fields = _fields(row, default_code, codes)
            found = await _find(session, fields)
        except DomainError as exc:
            results.append(error_result(row, exc))
            continue
        key = fields.get("sku") or fields.get("name")
        if found is not None:
            results.append(RowResult(row.number, UPDATED, id=found))
        elif key in seen:
            results.append(RowResult(row.number, UPDATED, note=f"same product as row {seen[key]}"))
        elif "name" not in fields:
            results.append(RowResult(row.number, ERROR, errors={"name": "A name is required"}))
            continue
        else:
            results.append(RowResult(row.number, CREATED))
        seen.setdefault(key, row.number)
    return results


def _snapshot(product: Product) -> tuple:
    prices = tuple(sorted((p.price_kind_id, p.price) for p in product.prices))
    return (
        product.sku,
        product.name,
        product.kind,
        product.unit,
        product.group_id,
        product.description,
        product.image_url,
        product.stock,
        product.vat_rate,
        product.active,
        prices,
    )


async def _existing(session: AsyncSession, keys: list[dict[str, Any]]) -> dict[str, int]:
    """Ids of the products the rows name: by SKU, and by exact name for rows without one."""
    skus = {f["sku"] for f in keys if "sku" in f}
    names = {f["name"] for f in keys if "sku" not in f and "name" in f}
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(skus)):
        rows = await session.execute(select(Product.sku, Product.id).where(Product.sku.in_(chunk)))
        found.update({f"sku:{sku}": pid for sku, pid in rows})
    for chunk in _chunks(sorted(names)):
        rows = await session.execute(
            select(Product.name, Product.id)
            .where(Product.name.in_(chunk), Product.sku.is_(None))
            .order_by(Product.id.desc())
        )
        found.update({f"name:{name}": pid for name, pid in rows})  # the oldest wins
    return found


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _key(fields: dict[str, Any]) -> str:
    return f"sku:{fields['sku']}" if "sku" in fields else f"name:{fields['name']}"


async def _insert_new(
    session: AsyncSession, new: list[tuple[ImportRow, dict[str, Any]]]
) -> dict[int, int]:
    """Create the batch's new products in two statements (products, then prices): the
    same checks as ``create_product``, without a round trip per row. Row number -> id."""
    if not new:
        return {}
    kinds = {k.code: k.id for k in await list_price_kinds(session)}
    groups: dict[str, int | None] = {}
    # Names as the catalog matches them (case-folded); ids and new names go to the service.
    known = {g.name.casefold(): g.id for g in await list_groups(session)}
    at = now(session)
    values = []
    for _row, fields in new:
        group = fields.get("group")
        if group is not None and group not in groups:
            folded = group.strip().casefold()
            if folded in known and not group.strip().isdigit():
                groups[group] = known[folded]
            else:
                found = await resolve_group(session, group, create=True)
                groups[group] = found.id if found else None
                if found is not None:
                    known[found.name.casefold()] = found.id
        kind = fields.get("kind", ProductKind.GOODS)
        values.append(
            {
                "sku": clean(fields.get("sku"), field="sku", max_length=100),
                "name": clean(fields["name"], field="name", max_length=300, required=True),
                "kind": kind,
                "unit": clean(fields.get("unit"), field="unit", max_length=20) or "шт",
                "group_id": groups.get(group) if group is not None else None,
                "description": clean(
                    fields.get("description"), field="description", max_length=20000
                ),
                "image_url": clean(fields.get("image_url"), field="image_url", max_length=500),
                "vat_rate": fields.get("vat_rate"),
                "stock": fields.get("stock", Decimal(0)),
                "active": fields.get("active", True),
                "external_id": None,
                "created_at": at,
                "updated_at": at,
            }
        )
    table = Product.__table__
    ids = list(
        (
            await session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), values
            )
        ).scalars()
    )
    prices = [
        {"product_id": pid, "price_kind_id": kinds[code], "price": price}
        for pid, (_row, fields) in zip(ids, new, strict=True)
        for code, price in fields.get("prices", {}).items()
    ]
    if prices:
        await session.execute(insert(ProductPrice.__table__), prices)
    return {row.number: pid for pid, (row, _fields) in zip(ids, new, strict=True)}


def _validate_new(fields: dict[str, Any]) -> None:
    if "name" not in fields:
        raise ValidationFailed("A name is required", field="name")
    clean(fields["name"], field="name", max_length=300, required=True)
    for key, limit in (("sku", 100), ("unit", 20), ("description", 20000), ("image_url", 500)):
        clean(fields.get(key), field=key, max_length=limit)
    if fields.get("kind") is ProductKind.SERVICE and fields.get("stock", 0) != 0:
        raise ValidationFailed("A service has no stock", field="stock")


async def import_products(session: AsyncSession, rows: Sequence[ImportRow]) -> list[RowResult]:
    """Create or update a product per row; errors are per row.

    New products of the batch are inserted together; a product the file names again,
    or one that exists, goes through ``update_product`` (when something changed).
    """
    default_code, codes = await _price_codes(session)
    results: dict[int, RowResult] = {}
    parsed: list[tuple[ImportRow, dict[str, Any]]] = []
    for row in rows:
        try:
            fields = _fields(row, default_code, codes)
            if "sku" not in fields and "name" not in fields:
                raise ValidationFailed("A SKU or a name is required", field="sku")
        except DomainError as exc:
            results[row.number] = error_result(row, exc)
            continue
        parsed.append((row, fields))
    existing = await _existing(session, [f for _r, f in parsed])
    new: list[tuple[ImportRow, dict[str, Any]]] = []
    later: list[tuple[ImportRow, dict[str, Any]]] = []
    claimed: set[str] = set()
    for row, fields in parsed:
        key = _key(fields)
        if key in existing or key in claimed:
            later.append((row, fields))
            continue
        try:
            _validate_new(fields)
        except DomainError as exc:
            results[row.number] = error_result(row, exc)
            continue
        claimed.add(key)
        new.append((row, fields))
    try:
        async with session.begin_nested():
            made = await _insert_new(session, new)
    except (DomainError, IntegrityError):  # a refused group, a SKU taken meanwhile: row by row
        made = {}
        later = sorted(new + later, key=lambda item: item[0].number)
    for number, pid in made.items():
        results[number] = RowResult(number, CREATED, id=pid)
    if made:
        existing.update({_key(f): made[r.number] for r, f in new if r.number in made})
    loaded = await _load(session, {existing[_key(f)] for _r, f in later if _key(f) in existing})
    kinds = {k.code: k.id for k in await list_price_kinds(session)}
    groups = {g.id: g.name.casefold() for g in await list_groups(session)} if loaded else {}
    for row, fields in later:
        found = existing.get(_key(fields))
        product = loaded.get(found) if found is not None else None
        if product is not None and _same(product, fields, kinds, groups):
            results[row.number] = RowResult(row.number, UNCHANGED, id=found)
            continue
        result = await _apply_one(session, row, fields, found)
        if result.status == CREATED:
            existing[_key(fields)] = result.id  # the file may name it again
        results[row.number] = result
    return [results[n] for n in sorted(results)]


async def _load(session: AsyncSession, ids: set[int]) -> dict[int, Product]:
    out: dict[int, Product] = {}
    for chunk in _chunks(sorted(ids)):
        rows = await session.scalars(
            select(Product).where(Product.id.in_(chunk)).options(selectinload(Product.prices))
        )
        out.update({p.id: p for p in rows})
    return out


async def _apply_one(
    session: AsyncSession, row: ImportRow, fields: dict[str, Any], found: int | None
) -> RowResult:
    """One row through the catalog service, in its own savepoint."""
    try:
        async with session.begin_nested():
            if found is None:
                _validate_new(fields)
                product = await create_product(session, **fields)
                return RowResult(row.number, CREATED, id=product.id)
            before = _snapshot(await get_product(session, found))
            product = await update_product(session, found, **fields)
            status = UPDATED if _snapshot(product) != before else UNCHANGED
            return RowResult(row.number, status, id=product.id)
    except DomainError as exc:
        return error_result(row, exc)


def _same(
    product: Product, fields: dict[str, Any], kinds: dict[str, int], groups: dict[int, str]
) -> bool:
    """Whether the row would change nothing (so no write is made for it)."""
    current = {p.price_kind_id: p.price for p in product.prices}
    for key, value in fields.items():
        if key == "prices":
            if any(current.get(kinds.get(code)) != price for code, price in value.items()):
                return False
        elif key == "group":
            if groups.get(product.group_id) != str(value).strip().casefold():
                return False
        elif getattr(product, key, None) != value:
            return False
    return True
