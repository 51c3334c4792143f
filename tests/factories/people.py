"""Employees, customers and leads for tests."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.customers.service import create_customer
from crm_core.employees.service import create_employee
from crm_core.leads.service import create_lead, get_lead
from crm_core.models import Customer, Employee, Lead, LeadSource

_seq = itertools.count(1)


def unique_phone() -> str:
    """A valid Russian mobile number no other test uses: ``+7 916 xxx-xx-xx``."""
    return f"+7916{next(_seq):07d}"


async def make_employee(session: AsyncSession, **fields: Any) -> Employee:
    n = next(_seq)
    fields.setdefault("name", f"Manager {n}")
    fields.setdefault("email", f"manager{n}@example.com")
    return await create_employee(session, **fields)


async def make_customer(session: AsyncSession, **fields: Any) -> Customer:
    fields.setdefault("name", f"Customer {next(_seq)}")
    return await create_customer(session, **fields)


async def make_lead(session: AsyncSession, **fields: Any) -> Lead:
    """A new lead (never merged into another), with state and contacts loaded."""
    fields.setdefault("name", f"Lead {next(_seq)}")
    fields.setdefault("source", LeadSource.MANUAL)
    result = await create_lead(session, dedupe=False, **fields)
    assert result.lead is not None
    return await get_lead(session, result.lead.id)
