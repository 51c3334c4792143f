"""The end of a lead: converted into a customer (and an order), hidden, or reopened.

Each transition is claimed with a conditional UPDATE (``WHERE result = 'open'``)
and a row-count check, so of two simultaneous attempts exactly one wins even on
PostgreSQL with several app processes; the loser gets a Conflict and its unit of
work rolls back whatever it had written.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.context import now
from crm_core.customers.common import clean_text
from crm_core.customers.contacts import Contacts, customer_ids_by_contacts
from crm_core.customers.service import create_customer, get_customer
from crm_core.errors import Conflict, NotFound
from crm_core.leads.states import resolve_hide_reason
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    CustomerKind,
    HideReason,
    Lead,
    LeadResult,
    Order,
)
from crm_core.outbox import emit


async def _claim(
    session: AsyncSession, lead: Lead, *, expected: LeadResult, to: LeadResult
) -> None:
    """Move the lead from ``expected`` to ``to`` in SQL, or raise Conflict."""
    if lead.result != expected:
        raise Conflict(f"Lead {lead.id} is {lead.result.value}, not {expected.value}")
    outcome = await session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.result == expected)
        .values(result=to, updated_at=now(session))
        .execution_options(synchronize_session=False)
    )
    if outcome.rowcount != 1:
        raise Conflict(f"Lead {lead.id} was just changed by someone else ({to.value} already?)")
    # The row is ours; setting the attribute too makes the history record open → to.
    lead.result = to
    lead.updated_at = now(session)


def _customer_name(lead: Lead) -> str:
    return lead.name or lead.company or lead.legal_name or f"Lead {lead.id}"


async def _customer_for(session: AsyncSession, lead: Lead, customer_id: int | None) -> Customer:
    """The given customer, else an existing one holding the lead's contacts, else a new one."""
    pairs = [(c.kind, c.value) for c in lead.contacts]
    if customer_id is None:
        existing = await customer_ids_by_contacts(session, pairs)
        customer_id = existing[0] if existing else None
    if customer_id is not None:
        await require_ref(session, Customer, customer_id, field="customer_id", what="Customer")
        customer = await get_customer(session, customer_id)
        have = {(c.kind, c.value) for c in customer.contacts}
        at = now(session)
        customer.contacts.extend(
            ContactPoint(kind=k, value=v, created_at=at) for k, v in pairs if (k, v) not in have
        )
        return customer
    company = bool(lead.company or lead.legal_name)
    by_kind = {kind: [c.value for c in lead.contacts if c.kind == kind] for kind in ContactKind}
    return await create_customer(
        session,
        name=_customer_name(lead),
        kind=CustomerKind.COMPANY if company else CustomerKind.PERSON,
        legal_name=lead.legal_name,
        telegram_username=lead.telegram_username,
        responsible_id=lead.responsible_id,
        source=lead.source,
        comment=lead.comment,
        # Copied, not moved: the lead keeps its contacts for its own record.
        contacts=Contacts(
            phones=tuple(by_kind[ContactKind.PHONE]),
            emails=tuple(by_kind[ContactKind.EMAIL]),
            telegram_id=next(iter(by_kind[ContactKind.TELEGRAM]), None),
        ),
    )


async def convert_lead(
    session: AsyncSession,
    lead_id: int,
    *,
    create_order: bool = False,
    customer_id: int | None = None,
) -> tuple[Customer, Order | None]:
    """Turn an open lead into a customer (new or existing) and optionally an empty order;
    exactly once: a converted, hidden or concurrently converted lead is a Conflict."""
    lead = await session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .options(selectinload(Lead.contacts))
        .execution_options(populate_existing=True)
    )
    if lead is None:
        raise NotFound(f"Lead {lead_id} not found")
    await _claim(session, lead, expected=LeadResult.OPEN, to=LeadResult.CONVERTED)
    customer = await _customer_for(session, lead, customer_id)
    await session.flush()
    order = None
    if create_order:
        from crm_core.orders.service import create_order as new_order

        order = await new_order(
            session,
            customer_id=customer.id,
            responsible_id=lead.responsible_id or customer.responsible_id,
            comment=lead.comment,
        )
    lead.customer_id = customer.id
    lead.order_id = order.id if order else None
    lead.converted_at = now(session)
    await session.flush()
    emit(
        session,
        "lead.converted",
        {"lead_id": lead.id, "customer_id": customer.id, "order_id": lead.order_id},
    )
    return customer, order


async def hide_lead(
    session: AsyncSession, lead_id: int, *, reason: int | str, comment: str | None = None
) -> Lead:
    """Hide an open lead for a reason (id, code or name of a hide reason)."""
    lead = await get_or_404(session, Lead, lead_id, what="Lead")
    hide_reason: HideReason = await resolve_hide_reason(session, reason)
    await _claim(session, lead, expected=LeadResult.OPEN, to=LeadResult.HIDDEN)
    lead.hide_reason_id = hide_reason.id
    lead.hide_comment = clean_text(comment, field="comment", max_length=500)
    await session.flush()
    emit(session, "lead.hidden", {"lead_id": lead.id, "reason": hide_reason.code})
    return lead


async def reopen_lead(session: AsyncSession, lead_id: int) -> Lead:
    """Bring a hidden lead back to work (a converted one stays converted)."""
    lead = await get_or_404(session, Lead, lead_id, what="Lead")
    await _claim(session, lead, expected=LeadResult.HIDDEN, to=LeadResult.OPEN)
    lead.hide_reason_id = None
    lead.hide_comment = None
    await session.flush()
    return lead
