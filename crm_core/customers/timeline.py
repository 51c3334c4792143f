"""What happened to a customer or a lead: change history, events, orders."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.history import list_history
from crm_core.lookup import get_or_404
from crm_core.models import Customer, Event, HistoryEntry, Invoice, Lead, Order


async def history_page(
    session: AsyncSession, *, entity_type: str, entity_id: int, limit: int = 100, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """One object's changes, oldest first, with their count."""
    items = await list_history(
        session, entity_type=entity_type, entity_id=entity_id, limit=limit, offset=offset
    )
    total = await session.scalar(
        select(func.count(HistoryEntry.id)).where(
            HistoryEntry.entity_type == entity_type, HistoryEntry.entity_id == entity_id
        )
    )
    return items, total or 0


async def customer_history(
    session: AsyncSession, customer_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """The change history of a customer (404 for an unknown one)."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    return await history_page(
        session, entity_type="customer", entity_id=customer_id, limit=limit, offset=offset
    )


async def _events(
    session: AsyncSession, condition, *, limit: int, offset: int
) -> tuple[list[Event], int]:
    total = await session.scalar(select(func.count(Event.id)).where(condition))
    rows = await session.scalars(
        select(Event)
        .where(condition)
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def customer_events(
    session: AsyncSession, customer_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[Event], int]:
    """The customer's events, and those of the leads converted into it, newest first."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    converted = select(Lead.id).where(Lead.customer_id == customer_id)
    condition = or_(Event.customer_id == customer_id, Event.lead_id.in_(converted))
    return await _events(session, condition, limit=limit, offset=offset)


async def lead_events(
    session: AsyncSession, lead_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[Event], int]:
    """The lead's events (requests, calls, letters), newest first."""
    await get_or_404(session, Lead, lead_id, what="Lead")
    return await _events(session, Event.lead_id == lead_id, limit=limit, offset=offset)


async def customer_orders(
    session: AsyncSession, customer_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[Order], int]:
    """The customer's orders, newest first, with their states loaded."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    condition = Order.customer_id == customer_id
    total = await session.scalar(select(func.count(Order.id)).where(condition))
    rows = await session.scalars(
        select(Order)
        .where(condition)
        .options(selectinload(Order.state))
        .order_by(Order.date.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def customer_invoices(
    session: AsyncSession, customer_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[Invoice], int]:
    """The invoices made for the customer, newest first (lines not loaded)."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    condition = Invoice.customer_id == customer_id
    total = await session.scalar(select(func.count(Invoice.id)).where(condition))
    rows = await session.scalars(
        select(Invoice)
        .where(condition)
        .order_by(Invoice.date.desc(), Invoice.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
