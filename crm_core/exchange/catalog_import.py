"""Import of a catalog from 1C: groups, products and services, price kinds, prices
and stock, upserted by 1C's Ид so a re-sent catalog updates and never doubles.

A file is imported in steps: each call handles at most ``step`` products or offers
after ``position`` (the ones done before are skipped while streaming, which costs
parsing only) and says whether the file is finished. The caller commits each step
and keeps the position in the exchange log, so 1C's ``progress`` loop and a
restarted process both resume where the last committed step ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.groups import create_price_kind
from crm_core.context import now
from crm_core.exchange.batches import (
    apply_offers,
    plan_each_batch,
    store_properties,
    upsert_products,
)
from crm_core.exchange.records import (
    CatalogHeader,
    GroupRecord,
    OfferRecord,
    PriceTypeRecord,
    ProductRecord,
    PropertyRecord,
    Record,
)
from crm_core.models import ExchangeLog, PriceKind, Product, ProductGroup

BATCH = 500


@dataclass
class StepResult:
    done: bool
    position: int
    counts: Counter = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)


async def import_catalog_step(
    session: AsyncSession, records: Iterable[Record], *, position: int = 0, step: int = 5000
) -> StepResult:
    """Import up to ``step`` products/offers after the first ``position`` ones."""
    result = StepResult(done=False, position=position)
    await plan_each_batch(session)
    groups_seen: list[GroupRecord] = []
    price_types: list[PriceTypeRecord] = []
    group_ids: dict[str, int] | None = None
    kind_ids: dict[str, int] | None = None
    products: list[ProductRecord] = []
    offers: list[OfferRecord] = []
    properties: dict[str, PropertyRecord] = {}
    variants: dict[str, dict] = {}
    index = 0
    for record in records:
        if isinstance(record, CatalogHeader):
            if position == 0 and not record.only_changes:
                result.counts["full_catalog"] = 1  # lets ``deactivate`` retire the rest
            continue
        if isinstance(record, GroupRecord):
            groups_seen.append(record)
            continue
        if isinstance(record, PriceTypeRecord):
            price_types.append(record)
            continue
        if isinstance(record, PropertyRecord):
            properties[record.external_id] = record
            if position == 0:
                result.counts["properties_read"] += 1
            continue
        index += 1
        if index <= position:
            continue
        if index > position + step:  # this step is full; the rest is the next one's
            break
        if isinstance(record, ProductRecord):
            if group_ids is None:
                group_ids = await upsert_groups(session, groups_seen, result.counts)
            products.append(record)
            if len(products) >= BATCH:
                ids = await upsert_products(
                    session, products, group_ids, result.counts, result.errors
                )
                await store_properties(session, products, properties, ids)
                products = []
        elif isinstance(record, OfferRecord):
            if kind_ids is None:
                kind_ids = await upsert_price_kinds(session, price_types, result.counts)
            offers.append(record)
            if len(offers) >= BATCH:
                await apply_offers(
                    session, offers, kind_ids, result.counts, result.errors, variants
                )
                offers = []
        result.position = index
    else:
        result.done = True
    if group_ids is None and groups_seen:  # a classifier-only file
        group_ids = await upsert_groups(session, groups_seen, result.counts)
    if kind_ids is None and price_types:
        kind_ids = await upsert_price_kinds(session, price_types, result.counts)
    if products:
        ids = await upsert_products(
            session, products, group_ids or {}, result.counts, result.errors
        )
        await store_properties(session, products, properties, ids)
    if offers:
        await apply_offers(session, offers, kind_ids or {}, result.counts, result.errors, variants)
    return result


async def upsert_groups(
    session: AsyncSession, records: list[GroupRecord], counts: Counter
) -> dict[str, int]:
    """Create or rename the classifier's groups and hang them on their parents.

    Parents are set after every group exists: the reader yields nested groups child
    first. Returns every known 1C group Ид -> id (earlier exchanges' too).
    """
    by_ext = {
        g.external_id: g
        for g in await session.scalars(
            select(ProductGroup).where(ProductGroup.external_id.is_not(None))
        )
    }
    for position, record in enumerate(records):
        group = by_ext.get(record.external_id)
        if group is None:
            group = ProductGroup(external_id=record.external_id, position=position)
            session.add(group)
            by_ext[record.external_id] = group
            counts["groups_created"] += 1
        else:
            counts["groups_updated"] += 1
        group.name = record.name.strip()[:200] or record.external_id[:200]
    await session.flush()
    for record in records:
        parent = by_ext.get(record.parent_external_id) if record.parent_external_id else None
        by_ext[record.external_id].parent_id = parent.id if parent is not None else None
    await session.flush()
    return {ext: g.id for ext, g in by_ext.items()}


async def upsert_price_kinds(
    session: AsyncSession, records: list[PriceTypeRecord], counts: Counter
) -> dict[str, int]:
    """1C's price types as price kinds: by Ид, else the Firma kind of the same name
    (the seeded "Розничная" and "Оптовая"), else a new kind. Returns Ид -> id."""
    kinds = list(await session.scalars(select(PriceKind)))
    by_ext = {k.external_id: k for k in kinds if k.external_id}
    for record in records:
        if record.external_id in by_ext:
            counts["price_kinds_updated"] += 1
            continue
        name = record.name.strip()[:100] or record.external_id[:100]
        kind = next(
            (k for k in kinds if not k.external_id and k.name.casefold() == name.casefold()),
            None,
        )
        if kind is not None:
            kind.external_id = record.external_id
            counts["price_kinds_linked"] += 1
        else:
            codes = {k.code for k in kinds}
            code, n = name[:50], 1
            while code in codes:
                n += 1
                code = f"{name[: 50 - len(str(n)) - 1]}-{n}"
            kind = await create_price_kind(
                session,
                code=code,
                name=name,
                currency=record.currency,
                external_id=record.external_id,
            )
            kinds.append(kind)
            counts["price_kinds_created"] += 1
        by_ext[record.external_id] = kind
    await session.flush()
    return {ext: k.id for ext, k in by_ext.items()}


async def full_import_started(session: AsyncSession, *, session_key: str) -> datetime | None:
    """When this exchange session began importing a full catalog; None if it sent
    only changes (or no catalog at all)."""
    entries = await session.scalars(
        select(ExchangeLog).where(
            ExchangeLog.session_key == session_key,
            ExchangeLog.peer == "1c",
            ExchangeLog.type == "catalog",
            ExchangeLog.mode == "import",
            ExchangeLog.status == "success",
        )
    )
    started = [e.started_at for e in entries if (e.counts or {}).get("full_catalog")]
    return min(started) if started else None


async def deactivate_missing(session: AsyncSession, *, since, seen: Set[str]) -> int:
    """After a full catalog: products from the accounting system (with an Ид) that
    this exchange neither carried (``seen``: the Ид of its files' products and
    offers) nor changed (updated before ``since``) are made inactive. A re-sent
    product that did not change is not written, so ``updated_at`` alone cannot say
    it was sent."""
    rows = await session.execute(
        select(Product.id, Product.external_id).where(
            Product.external_id.is_not(None),
            Product.active.is_(True),
            Product.updated_at < since,
        )
    )
    missing = [id_ for id_, ext in rows if ext not in seen]
    at = now(session)
    for start in range(0, len(missing), 1000):
        await session.execute(
            update(Product.__table__)
            .where(Product.__table__.c.id.in_(missing[start : start + 1000]))
            .values(active=False, updated_at=at)
        )
    return len(missing)


__all__ = ["StepResult", "deactivate_missing", "import_catalog_step"]
