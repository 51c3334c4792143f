"""Customers (as bare rows), products and orders for the commerce tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.service import create_product
from crm_core.context import now
from crm_core.models import Customer, Order, OrderState, Product
from crm_core.orders.service import LineInput, create_order

_seq = itertools.count(1)


async def make_buyer(session: AsyncSession, **fields: Any) -> Customer:
    """A customer row made directly (the customers service is another area's)."""
    at = now(session)
    fields.setdefault("name", f"Buyer {next(_seq)}")
    customer = Customer(created_at=at, updated_at=at, **fields)
    session.add(customer)
    await session.flush()
    return customer


async def make_product(
    session: AsyncSession, *, price: str | Decimal | None = "100.00", **fields: Any
) -> Product:
    """A good with a retail price (``price=None``: no price at all)."""
    n = next(_seq)
    fields.setdefault("name", f"Product {n}")
    fields.setdefault("sku", f"SKU-{n}")
    if price is not None:
        fields.setdefault("prices", {"retail": Decimal(price)})
    return await create_product(session, **fields)


async def make_order(
    session: AsyncSession,
    *,
    customer: Customer | None = None,
    lines: Sequence[LineInput] | None = None,
    total: str | Decimal | None = "1000.00",
    **fields: Any,
) -> Order:
    """An order; by default one free-text line worth ``total``."""
    customer = customer or await make_buyer(session)
    if lines is None:
        lines = [] if total is None else [LineInput(None, Decimal(1), Decimal(total), name="Work")]
    return await create_order(session, customer_id=customer.id, lines=lines, **fields)


async def state_of(session: AsyncSession, code: str, kind_id: int | None = None) -> OrderState:
    """A state of the default kind (or of ``kind_id``) by code."""
    query = select(OrderState).where(OrderState.code == code)
    if kind_id is not None:
        query = query.where(OrderState.kind_id == kind_id)
    return (await session.scalars(query.order_by(OrderState.id))).first()
