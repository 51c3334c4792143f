"""Customers, products, leads and orders out as plain rows (header first), read in keyset
batches so a large table streams in constant memory. The columns of customers,
products and leads are the ones their imports read: an exported file imports back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.groups import list_groups, list_price_kinds
from crm_core.errors import ValidationFailed
from crm_core.leads.intake import UTM_FIELDS
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    Employee,
    Lead,
    LeadState,
    Order,
    OrderState,
    Product,
)

BATCH = 1000
KINDS = ("customers", "products", "leads", "orders")

Row = list[Any]


async def _customers(session: AsyncSession, batch: int) -> AsyncIterator[list[Row]]:
    yield [
        [
            "id",
            "name",
            "kind",
            "phone",
            "email",
            "legal_name",
            "inn",
            "address",
            "tags",
            "comment",
            "created_at",
        ]
    ]
    last = 0
    while True:
        customers = list(
            await session.scalars(
                select(Customer)
                .where(Customer.id > last)
                .options(selectinload(Customer.contacts), selectinload(Customer.tags))
                .order_by(Customer.id)
                .limit(batch)
            )
        )
        if not customers:
            return
        rows = []
        for c in customers:
            own = [p for p in c.contacts if p.contact_person_id is None]
            phones = [p.value for p in own if p.kind == ContactKind.PHONE]
            emails = [p.value for p in own if p.kind == ContactKind.EMAIL]
            rows.append(
                [
                    c.id,
                    c.name,
                    c.kind.value,
                    ", ".join(phones),
                    ", ".join(emails),
                    c.legal_name,
                    c.inn,
                    c.address,
                    ", ".join(t.tag for t in c.tags),
                    c.comment,
                    c.created_at,
                ]
            )
        yield rows
        last = customers[-1].id
        session.expunge_all()


async def _products(session: AsyncSession, batch: int) -> AsyncIterator[list[Row]]:
    kinds = await list_price_kinds(session)
    groups = {g.id: g.name for g in await list_groups(session)}
    default = next((k for k in kinds if k.is_default), None)
    others = [k for k in kinds if k is not default]
    header = ["id", "sku", "name", "kind", "unit", "group", "description", "price"]
    header += [f"price:{k.code}" for k in others]
    header += ["stock", "vat_rate", "active", "image_url"]
    yield [header]
    last = 0
    while True:
        products = list(
            await session.scalars(
                select(Product)
                .where(Product.id > last)
                .options(selectinload(Product.prices))
                .order_by(Product.id)
                .limit(batch)
            )
        )
        if not products:
            return
        rows = []
        for p in products:
            prices = {x.price_kind_id: x.price for x in p.prices}
            rows.append(
                [
                    p.id,
                    p.sku,
                    p.name,
                    p.kind.value,
                    p.unit,
                    groups.get(p.group_id),
                    p.description,
                    prices.get(default.id) if default else None,
                    *[prices.get(k.id) for k in others],
                    p.stock,
                    p.vat_rate,
                    "yes" if p.active else "no",
                    p.image_url,
                ]
            )
        yield rows
        last = products[-1].id
        session.expunge_all()


async def _leads(session: AsyncSession, batch: int) -> AsyncIterator[list[Row]]:
    """Leads with their own contacts; ``state`` is the state's code and ``responsible``
    the employee's email, as the import reads them back."""
    yield [
        [
            "id",
            "name",
            "phone",
            "email",
            "company",
            "source",
            "source_detail",
            "state",
            "result",
            "responsible",
            *UTM_FIELDS,
            "comment",
            "customer_id",
            "created_at",
        ]
    ]
    last = 0
    while True:
        rows = (
            await session.execute(
                select(Lead, LeadState.code, Employee.email)
                .join(LeadState, LeadState.id == Lead.state_id)
                .outerjoin(Employee, Employee.id == Lead.responsible_id)
                .where(Lead.id > last)
                .order_by(Lead.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        ids = [lead.id for lead, _code, _email in rows]
        contacts: dict[int, dict[ContactKind, list[str]]] = {}
        points = await session.execute(
            select(ContactPoint.lead_id, ContactPoint.kind, ContactPoint.value)
            .where(ContactPoint.lead_id.in_(ids))
            .order_by(ContactPoint.id)
        )
        for lead_id, kind, value in points:
            contacts.setdefault(lead_id, {}).setdefault(ContactKind(kind), []).append(value)
        out = []
        for lead, state_code, responsible in rows:
            own = contacts.get(lead.id, {})
            out.append(
                [
                    lead.id,
                    lead.name,
                    ", ".join(own.get(ContactKind.PHONE, [])),
                    ", ".join(own.get(ContactKind.EMAIL, [])),
                    lead.company,
                    lead.source.value,
                    lead.source_detail,
                    state_code,
                    lead.result.value,
                    responsible,
                    *[getattr(lead, f) for f in UTM_FIELDS],
                    lead.comment,
                    lead.customer_id,
                    lead.created_at,
                ]
            )
        yield out
        last = ids[-1]
        session.expunge_all()


async def _orders(session: AsyncSession, batch: int) -> AsyncIterator[list[Row]]:
    yield [
        [
            "id",
            "number",
            "date",
            "customer_id",
            "customer",
            "state",
            "total",
            "paid_amount",
            "shipped_amount",
            "channel",
            "due_at",
            "comment",
        ]
    ]
    last = 0
    while True:
        rows = (
            await session.execute(
                select(
                    Order.id,
                    Order.number,
                    Order.date,
                    Order.customer_id,
                    Customer.name,
                    OrderState.name,
                    Order.total,
                    Order.paid_amount,
                    Order.shipped_amount,
                    Order.channel,
                    Order.due_at,
                    Order.comment,
                )
                .join(Customer, Customer.id == Order.customer_id)
                .join(OrderState, OrderState.id == Order.state_id)
                .where(Order.id > last)
                .order_by(Order.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        yield [list(r) for r in rows]
        last = rows[-1][0]


async def export_rows(
    session: AsyncSession, kind: str, *, batch: int = BATCH
) -> AsyncIterator[list[Row]]:
    """The header row, then batches of rows, of ``customers``, ``products``, ``leads``
    or ``orders``."""
    makers = {
        "customers": _customers,
        "products": _products,
        "leads": _leads,
        "orders": _orders,
    }
    if kind not in makers:
        raise ValidationFailed(f"Cannot export {kind!r}: one of {', '.join(KINDS)}", field="kind")
    async for rows in makers[kind](session, batch):
        yield rows
