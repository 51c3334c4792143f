"""Orders from an online store (its answer to ``type=sale&mode=query``) into Firma,
and Firma's changes of those orders (state, payment, shipment) back to the store.

Idempotent by the site's order Ид: an order read twice is one order; the second
reading only applies what changed (cancelled, paid, final). Each document goes in
a savepoint of its own, so one bad order is logged and the rest still land.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_email, normalize_phone
from crm_core.context import now
from crm_core.customers.contacts import customer_ids_by_contacts
from crm_core.customers.service import create_customer
from crm_core.errors import DomainError, ValidationFailed
from crm_core.exchange.batches import note
from crm_core.exchange.onec_sale import apply_statuses
from crm_core.exchange.order_documents import build_documents, order_query, stamp
from crm_core.exchange.records import LineRecord, OrderDocument, PartyRecord
from crm_core.models import (
    ContactKind,
    Customer,
    CustomerKind,
    LeadSource,
    Order,
    PaymentMethod,
    Product,
    StoreOrder,
)
from crm_core.orders.service import LineInput, create_order, get_order

CHANNEL = "store"


def _pairs(party: PartyRecord) -> list[tuple[ContactKind, str]]:
    pairs = []
    for raw in party.phones:
        try:
            pairs.append((ContactKind.PHONE, normalize_phone(raw)))
        except ValidationFailed:
            continue
    for raw in party.emails:
        try:
            pairs.append((ContactKind.EMAIL, normalize_email(raw)))
        except ValidationFailed:
            continue
    return list(dict.fromkeys(pairs))


def _name(party: PartyRecord | None, document: OrderDocument) -> str:
    if party is not None:
        for value in (party.name, party.full_name):
            if value and value.strip():
                return value.strip()[:200]
        # Bitrix writes "<user id>#<login># <full name>" when the names are empty.
        parts = [p.strip() for p in (party.external_id or "").split("#")[1:] if p.strip()]
        if parts:
            return parts[-1][:200]
    return f"Покупатель заказа {document.number}"[:200]


async def _customer(
    session: AsyncSession, store_id: int, document: OrderDocument, counts: Counter
) -> int:
    """The buyer: by a phone or email Firma knows, else by the site's buyer Ид,
    else a new customer (source ``store``)."""
    party = document.party
    pairs = _pairs(party) if party else []
    found = await customer_ids_by_contacts(session, pairs)
    if found:
        return found[0]
    external = f"store{store_id}:{party.external_id}"[:100] if party and party.external_id else None
    if external:
        known = await session.scalar(select(Customer.id).where(Customer.external_id == external))
        if known is not None:
            return known
    customer = await create_customer(
        session,
        name=_name(party, document),
        kind=CustomerKind.COMPANY if party and party.is_company else CustomerKind.PERSON,
        phones=[v for k, v in pairs if k == ContactKind.PHONE],
        emails=[v for k, v in pairs if k == ContactKind.EMAIL],
        address=(party.address if party else None),
        source=LeadSource.STORE,
        comment=f"Покупатель интернет-магазина (заказ {document.number})",
    )
    customer.external_id = external
    await session.flush()
    counts["customers_created"] += 1
    return customer.id


async def _lines(session: AsyncSession, lines: list[LineRecord]) -> list[LineInput]:
    """Lines onto Firma's products by Ид (a variant ``x#y`` onto its product ``x``,
    ``firma-<id>`` onto Firma's own); unknown products and delivery as free lines."""
    wanted = set()
    for line in lines:
        if line.external_id and not line.is_delivery:
            wanted |= {line.external_id, line.external_id.split("#")[0]}
    by_ext = {}
    if wanted:
        rows = await session.execute(
            select(Product.external_id, Product.id).where(Product.external_id.in_(wanted))
        )
        by_ext = dict(rows.all())
    own = {w: int(w[6:]) for w in wanted if w.startswith("firma-") and w[6:].isdigit()}
    if own:
        rows = await session.scalars(select(Product.id).where(Product.id.in_(own.values())))
        present = set(rows)
        by_ext.update({w: i for w, i in own.items() if i in present})
    result = []
    for line in lines:
        if line.quantity <= 0:
            continue
        product_id = None
        if line.external_id and not line.is_delivery:
            product_id = by_ext.get(line.external_id) or by_ext.get(line.external_id.split("#")[0])
        name = line.name if not line.is_delivery else f"Доставка: {line.name}"
        price = max(line.price, Decimal(0)).quantize(Decimal("0.01"))
        result.append(LineInput(product_id, line.quantity, price, name=name[:300]))
    return result


async def apply_store_documents(
    session: AsyncSession,
    store_id: int,
    documents: Iterable[OrderDocument],
    *,
    timezone: str,
    counts: Counter,
    errors: list[dict[str, Any]],
) -> None:
    """Create or update the store's orders (sales channel ``store``)."""
    zone = ZoneInfo(timezone)
    for document in documents:
        try:
            async with session.begin_nested():
                await _apply_one(session, store_id, document, zone=zone, counts=counts)
        except DomainError as exc:
            counts["orders_failed"] += 1
            note(errors, document.external_id, exc.message)


async def _apply_one(
    session: AsyncSession, store_id: int, document: OrderDocument, *, zone, counts: Counter
) -> None:
    link = await session.scalar(
        select(StoreOrder).where(
            StoreOrder.store_id == store_id, StoreOrder.site_id == document.external_id[:100]
        )
    )
    at = now(session)
    if link is None:
        customer_id = await _customer(session, store_id, document, counts)
        order = await create_order(
            session,
            customer_id=customer_id,
            lines=await _lines(session, document.lines),
            channel=CHANNEL,
            external_id=f"store{store_id}:{document.external_id}"[:100],
            date=document.date,
            comment=document.comment or document.requisite("Комментарии покупателя"),
            delivery_address=document.party.address if document.party else None,
        )
        link = StoreOrder(
            store_id=store_id,
            order_id=order.id,
            site_id=document.external_id[:100],
            site_number=(document.number or "")[:60] or None,
            created_at=at,
            updated_at=at,
        )
        session.add(link)
        counts["orders_created"] += 1
    else:
        order = await get_order(session, link.order_id)
        counts["orders_updated"] += 1
    before = (order.state_id, order.paid_amount, order.shipped_amount)
    await apply_statuses(
        session,
        order,
        document,
        zone=zone,
        prefix=f"store{store_id}:{document.external_id}",
        counts=counts,
        method=PaymentMethod.ONLINE,
    )
    current = await get_order(session, order.id)
    after = (current.state_id, current.paid_amount, current.shipped_amount)
    if link.synced_state_id is None or after != before:
        # What the store itself said is not news to send back to it; a change made
        # in Firma meanwhile (the store said nothing new) still goes out.
        link.synced_state_id, link.synced_paid, link.synced_shipped = after
    link.updated_at = at
    await session.flush()


async def changed_store_orders(
    session: AsyncSession, store_id: int, *, timezone: str, limit: int = 500
) -> tuple[list[OrderDocument], list[tuple[int, int, Decimal, Decimal]]]:
    """Documents for the store's orders that changed in Firma since last synced
    (under the site's Ид and number), and the snapshot to mark synced after sending."""
    # Compared in SQL: a store with years of orders reads only the changed ones.
    rows = (
        await session.execute(
            select(StoreOrder, Order.id)
            .join(Order, Order.id == StoreOrder.order_id)
            .where(
                StoreOrder.store_id == store_id,
                or_(
                    StoreOrder.synced_state_id.is_(None),
                    StoreOrder.synced_state_id != Order.state_id,
                    StoreOrder.synced_paid != Order.paid_amount,
                    StoreOrder.synced_shipped != Order.shipped_amount,
                ),
            )
            .order_by(StoreOrder.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return [], []
    by_order = {order_id: link for link, order_id in rows}
    changed = list(
        await session.scalars(order_query().where(Order.id.in_(by_order)).order_by(Order.id))
    )
    documents = await build_documents(session, changed, timezone=timezone)
    zone = ZoneInfo(timezone)
    snapshot = []
    for order, document in zip(changed, documents, strict=True):
        link = by_order[order.id]
        document.requisites["Номер по 1С"] = order.number
        document.requisites["Дата по 1С"] = stamp(order.date, zone)
        document.requisites["Проведен"] = "true"
        document.external_id = link.site_id
        document.number = link.site_number or link.site_id
        snapshot.append((link.id, order.state_id, order.paid_amount, order.shipped_amount))
    return documents, snapshot


async def mark_synced(
    session: AsyncSession, snapshot: list[tuple[int, int, Decimal, Decimal]]
) -> None:
    """The store took the statuses: remember what it now knows."""
    at = now(session)
    for link_id, state_id, paid, shipped in snapshot:
        link = await session.get(StoreOrder, link_id)
        if link is not None:
            link.synced_state_id, link.synced_paid, link.synced_shipped = state_id, paid, shipped
            link.updated_at = at
    await session.flush()


__all__ = ["apply_store_documents", "changed_store_orders", "mark_synced"]
