"""Batched upserts of products and offers by 1C's Ид (``external_id``).

A catalog has thousands of rows, so a batch is a few SELECTs of plain rows by ``IN``
(no ORM objects) and writes only what differs from the database: one INSERT of the
new rows and one executemany UPDATE by primary key of the changed ones. A re-sent
catalog whose rows did not change writes nothing (their ``updated_at`` stays).
The rules are the catalog service's: a unique SKU, a known group, VAT one of the
Russian rates, services without stock.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.common import MAX_MONEY, MAX_QUANTITY, VAT_RATES
from crm_core.context import now
from crm_core.exchange.records import OfferRecord, ProductRecord, PropertyRecord
from crm_core.models import Product, ProductKind, ProductPrice, ProductProperty

MAX_ERRORS = 100
_CENT = Decimal("0.01")
_MILLI = Decimal("0.001")

_PRODUCTS = Product.__table__
_PRICES = ProductPrice.__table__
_PROPERTIES = ProductProperty.__table__
# What a catalog record sets on a product (compared to the row to find a change).
_FIELDS = (
    "external_id",
    "sku",
    "name",
    "kind",
    "unit",
    "group_id",
    "description",
    "image_url",
    "vat_rate",
    "stock",
    "active",
)
_ROW = [_PRODUCTS.c.id, *(_PRODUCTS.c[f] for f in _FIELDS)]


def note(errors: list[dict[str, Any]], external_id: str, message: str) -> None:
    """Keep a bounded list of per-record problems for the exchange log."""
    if len(errors) < MAX_ERRORS:
        errors.append({"id": external_id, "error": message})


def _cut(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def _among(session: AsyncSession, column, values) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter: an array on PostgreSQL,
    a JSON array read by ``json_each`` on SQLite. The statement stays the same for
    every batch (compiled and prepared once); an ``IN`` of 500 bound values was
    rendered, bound and parsed anew each time: ~5 ms a look-up, most of a step's
    reads."""
    values = list(values)
    if _postgres(session):
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    listed = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(values), type_=String()))
    )
    return column.in_(listed.scalar_subquery())


async def _select(session: AsyncSession, query):
    """A Core query on the session's connection (no ORM layer for plain rows)."""
    connection = await session.connection()
    return await connection.execute(query)


async def plan_each_batch(session: AsyncSession) -> None:
    """PostgreSQL: plan this transaction's statements for their own parameters.

    asyncpg prepares each statement; after five runs PostgreSQL may keep a generic
    plan, made while the catalog tables were empty (a first import, never analyzed).
    That plan scans the table, and a batch's ``external_id IN (500 values)``
    compared every row with every value: at 50,000 products the look-ups took 16 of
    an import's 22 seconds (EXPLAIN ANALYZE: a Seq Scan with 49,997 rows removed
    instead of the unique index)."""
    if _postgres(session):
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _arrays(table, columns: tuple[str, ...], rows: list[dict[str, Any]]):
    """PostgreSQL: ``unnest(CAST(:a0 AS type[]), ...)`` over the rows' columns, and its
    parameters: a whole batch becomes one statement (asyncpg's executemany still
    executes row by row: ~70 µs a row on the server)."""
    dialect = postgresql.dialect()
    casts, params = [], {}
    for n, column in enumerate(columns):
        values = [row[column] for row in rows]
        if values and isinstance(next((v for v in values if v is not None), None), Enum):
            values = [v.value if v is not None else None for v in values]
        casts.append(f"CAST(:a{n} AS {table.c[column].type.compile(dialect=dialect)}[])")
        params[f"a{n}"] = values
    return f"unnest({', '.join(casts)})", params


def _binders(session: AsyncSession, table, columns: tuple[str, ...]) -> list[tuple[int, Any]]:
    """(position, bind processor) of the columns whose values the driver cannot take
    as they are (on SQLite: enums, decimals, booleans, datetimes), as SQLAlchemy
    would convert them."""
    dialect = session.bind.dialect
    out = []
    for n, column in enumerate(columns):
        processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            out.append((n, processor))
    return out


def _tuples(
    session: AsyncSession, table, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[tuple]:
    """The rows as the driver's parameter tuples in ``columns`` order: the statement is
    run by the driver itself (SQLAlchemy's per-value parameter handling cost more
    than SQLite's own work for a catalog batch)."""
    binders = _binders(session, table, columns)
    pick = itemgetter(*columns)
    if not binders:
        return [pick(row) if len(columns) > 1 else (pick(row),) for row in rows]
    memo: dict[tuple[int, Any], Any] = {}  # one ``updated_at`` for the whole batch
    out = []
    for row in rows:
        values = list(pick(row)) if len(columns) > 1 else [pick(row)]
        for n, processor in binders:
            value = values[n]
            if value is None:
                continue
            if isinstance(value, datetime):
                key = (n, value)
                if key not in memo:
                    memo[key] = processor(value)
                values[n] = memo[key]
            else:
                values[n] = processor(value)
        out.append(tuple(values))
    return out


def _names(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


async def _update_rows(session: AsyncSession, table, rows: list[dict[str, Any]]) -> None:
    """Rows (``id`` and the same other keys each) written by primary key."""
    if not rows:
        return
    columns = tuple(k for k in rows[0] if k != "id")
    if _postgres(session):
        source, params = _arrays(table, ("id", *columns), rows)
        sets = ", ".join(f'"{c}" = u."{c}"' for c in columns)
        names = _names(("id", *columns))
        sql = f"UPDATE {table.name} AS t SET {sets} FROM {source} AS u({names}) WHERE t.id = u.id"
        await session.execute(text(sql), params)
        return
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    sql = f"UPDATE {table.name} SET {sets} WHERE id = ?"
    connection = await session.connection()
    await connection.exec_driver_sql(sql, _tuples(session, table, (*columns, "id"), rows))


# SQLite takes at most 32,766 parameters a statement.
_SQLITE_PARAMETERS = 32_000


async def _insert_rows(
    session: AsyncSession, table, rows: list[dict[str, Any]], returning: tuple[str, ...] = ()
) -> list[tuple]:
    """Rows (the same keys each) inserted in one statement (PostgreSQL) or one
    executemany (SQLite; multi-row VALUES when ``returning``); the ``returning``
    columns of each, in no given order."""
    if not rows:
        return []
    columns = tuple(rows[0])
    if _postgres(session):
        source, params = _arrays(table, columns, rows)
        sql = f"INSERT INTO {table.name} ({_names(columns)}) SELECT * FROM {source}"
        if returning:
            sql += " RETURNING " + _names(returning)
        result = await session.execute(text(sql), params)
        return [tuple(r) for r in result] if returning else []
    connection = await session.connection()
    values = _tuples(session, table, columns, rows)
    head = f"INSERT INTO {table.name} ({_names(columns)}) VALUES "
    one = "(" + ", ".join("?" * len(columns)) + ")"
    if not returning:
        await connection.exec_driver_sql(head + one, values)
        return []
    out: list[tuple] = []
    size = max(1, _SQLITE_PARAMETERS // len(columns))
    for start in range(0, len(values), size):
        part = values[start : start + size]
        sql = head + ", ".join([one] * len(part)) + " RETURNING " + _names(returning)
        flat = tuple(v for row in part for v in row)
        out.extend(tuple(r) for r in await connection.exec_driver_sql(sql, flat))
    return out


async def upsert_products(
    session: AsyncSession,
    batch: list[ProductRecord],
    groups: dict[str, int],
    counts: dict[str, int],
    errors: list[dict[str, Any]],
) -> dict[str, int]:
    """Insert the new products, update the changed ones; returns Ид -> product id of
    every product of the batch."""
    ids = list({r.external_id for r in batch})
    found: dict[str, dict[str, Any]] = {
        row["external_id"]: dict(row)
        for row in (
            await _select(
                session, select(*_ROW).where(_among(session, _PRODUCTS.c.external_id, ids))
            )
        ).mappings()
    }
    skus = {s for s in (_cut(r.sku, 100) for r in batch) if s}
    owners: dict[str, dict[str, Any]] = {}
    if skus:
        query = select(*_ROW).where(_among(session, _PRODUCTS.c.sku, skus))
        for row in (await _select(session, query)).mappings():
            owners[row["sku"]] = found.get(row["external_id"]) or dict(row)
    original = {row["id"]: dict(row) for row in [*found.values(), *owners.values()]}
    at = now(session)
    taken: set[str] = set()
    fresh: dict[str, dict[str, Any]] = {}  # new products: one INSERT below
    for record in batch:
        product = found.get(record.external_id) or fresh.get(record.external_id)
        sku = _cut(record.sku, 100)
        owner = owners.get(sku) if sku else None
        if product is None and owner is not None and owner["external_id"] is None:
            # A product typed into Firma before the first exchange: link it, not double it.
            product, owner = owner, None
            product["external_id"] = record.external_id
            found[record.external_id] = product
        if sku and (sku in taken or (owner is not None and owner is not product)):
            note(errors, record.external_id, f"SKU {sku!r} belongs to another product; not set")
            sku = product["sku"] if product is not None else None
        if sku:
            taken.add(sku)
        if product is None:
            product = {"external_id": record.external_id, "stock": Decimal(0), "unit": None}
            fresh[record.external_id] = product
        _apply(product, record, sku, groups, errors)
    changed = []
    for product in found.values():
        before = original[product["id"]]
        if any(product[f] != before[f] for f in _FIELDS):
            row = {f: product[f] for f in _FIELDS}
            changed.append({**row, "id": product["id"], "updated_at": at})
    seen = {r.external_id for r in batch}
    counts["products_created"] += len(fresh)
    counts["products_updated"] += len(changed)
    counts["products_unchanged"] += len(seen) - len(fresh) - len(changed)
    await _update_rows(session, _PRODUCTS, changed)
    result = {ext: p["id"] for ext, p in found.items() if ext in seen}
    if fresh:
        rows = [{**p, "created_at": at, "updated_at": at} for p in fresh.values()]
        inserted = await _insert_rows(session, _PRODUCTS, rows, ("id", "external_id"))
        result.update({ext: id_ for id_, ext in inserted})
    return result


def _apply(
    product: dict[str, Any],
    record: ProductRecord,
    sku: str | None,
    groups: dict[str, int],
    errors: list[dict[str, Any]],
) -> None:
    product["sku"] = sku
    product["name"] = _cut(record.name, 300) or record.external_id[:300]
    kind = ProductKind.SERVICE if record.is_service else ProductKind.GOODS
    product["kind"] = kind
    if kind is ProductKind.SERVICE:
        product["stock"] = Decimal(0)
    product["unit"] = _cut(record.unit, 20) or product["unit"] or "шт"
    product["description"] = _cut(record.description, 20000)
    product["image_url"] = _cut(record.image, 500)
    product["active"] = not record.deleted
    group_id = next((groups[g] for g in record.group_external_ids if g in groups), None)
    if record.group_external_ids and group_id is None:
        note(errors, record.external_id, "its group is not in the classifier")
    product["group_id"] = group_id
    rate = record.vat_rate
    if rate is not None and rate not in VAT_RATES:
        note(errors, record.external_id, f"VAT rate {rate} is not a Russian rate; left empty")
        rate = None
    product["vat_rate"] = rate


async def store_properties(
    session: AsyncSession,
    batch: list[ProductRecord],
    definitions: dict[str, PropertyRecord],
    ids: dict[str, int] | None = None,
) -> None:
    """The products' property values by the classifier's names (dictionary values
    resolved); a re-sent product's values replace its old ones: only the rows that
    differ are deleted, updated or inserted. ``ids``: Ид -> product id, when known."""
    if ids is None:
        ids = dict(
            (
                await _select(
                    session,
                    select(_PRODUCTS.c.external_id, _PRODUCTS.c.id).where(
                        _among(session, _PRODUCTS.c.external_id, {r.external_id for r in batch})
                    ),
                )
            ).all()
        )
    if not ids:
        return
    wanted: dict[int, dict[str, str]] = {}
    for record in batch:
        product_id = ids.get(record.external_id)
        if product_id is None:
            continue
        values: dict[str, str] = {}  # a product sent twice in a batch: the last one counts
        for key, value in record.properties.items():
            definition = definitions.get(key)
            name = (definition.name if definition else key).strip()[:200]
            value = (definition.values.get(value, value) if definition else value) or ""
            if not name or not value.strip() or name in values:
                continue
            values[name] = value.strip()[:1000]
        wanted[product_id] = values
    existing = await _select(
        session,
        select(
            _PROPERTIES.c.id, _PROPERTIES.c.product_id, _PROPERTIES.c.name, _PROPERTIES.c.value
        ).where(_among(session, _PROPERTIES.c.product_id, wanted)),
    )
    gone, changed = [], []
    kept: dict[int, set[str]] = {}
    for row_id, product_id, name, value in existing:
        target = wanted[product_id].get(name)
        if target is None or name in kept.setdefault(product_id, set()):
            gone.append(row_id)
            continue
        kept[product_id].add(name)
        if target != value:
            changed.append({"id": row_id, "value": target})
    if gone:
        await session.execute(delete(_PROPERTIES).where(_PROPERTIES.c.id.in_(gone)))
    await _update_rows(session, _PROPERTIES, changed)
    rows = [
        {"product_id": product_id, "name": name, "value": value}
        for product_id, values in wanted.items()
        for name, value in values.items()
        if name not in kept.get(product_id, ())
    ]
    await _insert_rows(session, _PROPERTIES, rows)


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
    sum over the variants, its price the lowest ("from") of theirs. Only the prices
    and stocks that differ from the database are written."""
    variants = {} if variants is None else variants
    wanted = {r.external_id for r in batch} | {r.external_id.split("#")[0] for r in batch}
    columns = (_PRODUCTS.c.id, _PRODUCTS.c.external_id, _PRODUCTS.c.kind, _PRODUCTS.c.stock)
    products: dict[str, dict[str, Any]] = {
        row["external_id"]: dict(row)
        for row in (
            await _select(
                session, select(*columns).where(_among(session, _PRODUCTS.c.external_id, wanted))
            )
        ).mappings()
    }
    stock = {p["id"]: p["stock"] for p in products.values()}  # as in the database
    prices: dict[int, dict[int, list]] = {}  # product id -> kind id -> [price id, price, new]
    if products:
        rows = await _select(
            session,
            select(
                _PRICES.c.id, _PRICES.c.product_id, _PRICES.c.price_kind_id, _PRICES.c.price
            ).where(_among(session, _PRICES.c.product_id, stock)),
        )
        for price_id, product_id, kind_id, price in rows:
            prices.setdefault(product_id, {})[kind_id] = [price_id, price, price]
    for record in batch:
        product = products.get(record.external_id)
        if product is None and "#" in record.external_id:
            product = products.get(record.external_id.split("#")[0])
            if product is not None:
                record = _merge_variant(variants, product["external_id"], record)
                counts["variant_offers"] += 1
        if product is None:
            counts["offers_skipped"] += 1
            note(errors, record.external_id, "offer of a product not in the catalog")
            continue
        if record.prices is not None:
            _set_prices(prices.setdefault(product["id"], {}), record, price_kinds, errors)
        if record.quantity is not None and product["kind"] is ProductKind.GOODS:
            # 1C is the master of stock: it sends the absolute balance, not a change.
            quantity = record.quantity.quantize(_MILLI, rounding=ROUND_HALF_UP)
            product["stock"] = max(min(quantity, MAX_QUANTITY), -MAX_QUANTITY)
        counts["offers_applied"] += 1
    at = now(session)
    touched: set[int] = set()
    fresh, changed = [], []
    for product_id, kinds in prices.items():
        for kind_id, (price_id, old, new) in kinds.items():
            if price_id is None:
                fresh.append({"product_id": product_id, "price_kind_id": kind_id, "price": new})
            elif new != old:
                changed.append({"id": price_id, "price": new})
            else:
                continue
            touched.add(product_id)
    moved = []
    for product in products.values():
        if product["stock"] != stock[product["id"]] or product["id"] in touched:
            moved.append({"id": product["id"], "stock": product["stock"], "updated_at": at})
    counts["offers_changed"] += len(moved)
    await _update_rows(session, _PRODUCTS, moved)
    await _update_rows(session, _PRICES, changed)
    await _insert_rows(session, _PRICES, fresh)


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
    current: dict[int, list],
    record: OfferRecord,
    price_kinds: dict[str, int],
    errors: list[dict[str, Any]],
) -> None:
    """Set the offer's prices on ``current`` (kind id -> [price id or None, price in
    the database, price to have])."""
    for kind_external_id, value in (record.prices or {}).items():
        kind_id = price_kinds.get(kind_external_id)
        if kind_id is None:
            note(errors, record.external_id, f"unknown price type {kind_external_id}")
            continue
        if value < 0 or value > MAX_MONEY:
            note(errors, record.external_id, f"price {value} out of range")
            continue
        price = value.quantize(_CENT, rounding=ROUND_HALF_UP)
        if kind_id in current:
            current[kind_id][2] = price
        else:
            current[kind_id] = [None, None, price]
