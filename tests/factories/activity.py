"""Employees, customers, leads, orders and payments for the activity and analytics
tests, written straight through the ORM (their own services live elsewhere)."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.employees.service import create_employee
from crm_core.models import (
    ContactPerson,
    Customer,
    Employee,
    Lead,
    LeadResult,
    LeadState,
    Order,
    OrderKind,
    OrderState,
    Payment,
    PaymentMethod,
    StateCategory,
)
from crm_core.orders.figures import record_change, snapshot

_seq = itertools.count(1)


async def make_employee(session: AsyncSession, **fields: Any) -> Employee:
    n = next(_seq)
    fields.setdefault("name", f"Staff {n}")
    fields.setdefault("email", f"staff{n}@firma-activity.ru")
    return await create_employee(session, **fields)


async def make_customer(session: AsyncSession, **fields: Any) -> Customer:
    at = now(session)
    fields.setdefault("name", f"Customer {next(_seq)}")
    customer = Customer(created_at=at, updated_at=at, **fields)
    session.add(customer)
    await session.flush()
    return customer


async def make_contact_person(session: AsyncSession, customer: Customer) -> ContactPerson:
    person = ContactPerson(
        customer_id=customer.id, name=f"Person {next(_seq)}", created_at=now(session)
    )
    session.add(person)
    await session.flush()
    return person


async def make_lead(
    session: AsyncSession,
    *,
    created_at: datetime | None = None,
    customer: Customer | None = None,
    responsible_id: int | None = None,
) -> Lead:
    """A lead; given a customer, it is converted into that customer."""
    at = created_at or now(session)
    state_id = await session.scalar(select(LeadState.id).order_by(LeadState.position).limit(1))
    lead = Lead(
        name=f"Lead {next(_seq)}",
        state_id=state_id,
        result=LeadResult.CONVERTED if customer else LeadResult.OPEN,
        customer_id=customer.id if customer else None,
        converted_at=at if customer else None,
        responsible_id=responsible_id,
        created_at=at,
        updated_at=at,
    )
    session.add(lead)
    await session.flush()
    return lead


async def default_kind(session: AsyncSession) -> OrderKind:
    return await session.scalar(select(OrderKind).where(OrderKind.is_default.is_(True)))


async def states_of(session: AsyncSession, kind_id: int) -> dict[str, OrderState]:
    rows = await session.scalars(select(OrderState).where(OrderState.kind_id == kind_id))
    return {s.code: s for s in rows}


async def make_kind(session: AsyncSession, code: str = "service") -> OrderKind:
    """A second order kind with two states of its own."""
    kind = OrderKind(code=code, name=code.title(), is_default=False)
    kind.states = [
        OrderState(code="new", name="New", category=StateCategory.OPEN, position=0),
        OrderState(code="done", name="Done", category=StateCategory.COMPLETED, position=1),
    ]
    session.add(kind)
    await session.flush()
    return kind


async def make_order(
    session: AsyncSession,
    *,
    customer: Customer,
    date: datetime,
    total: str | Decimal,
    state: str = "new",
    paid: str | Decimal = "0",
    responsible_id: int | None = None,
    kind: OrderKind | None = None,
) -> Order:
    kind = kind or await default_kind(session)
    st = (await states_of(session, kind.id))[state]
    order = Order(
        number=f"T-{next(_seq)}",
        date=date,
        customer_id=customer.id,
        kind_id=kind.id,
        state_id=st.id,
        category=st.category,
        total=Decimal(total),
        paid_amount=Decimal(paid),
        responsible_id=responsible_id,
        created_at=date,
        updated_at=date,
    )
    session.add(order)
    await session.flush()
    # Written around the order services: keep their daily figures as they would.
    await record_change(session, None, snapshot(order))
    return order


async def make_payment(
    session: AsyncSession, *, order: Order, amount: str, paid_at: datetime
) -> Payment:
    payment = Payment(
        order_id=order.id,
        amount=Decimal(amount),
        method=PaymentMethod.BANK,
        paid_at=paid_at,
        created_at=paid_at,
    )
    session.add(payment)
    await session.flush()
    return payment
