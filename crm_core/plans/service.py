"""The sales plan: one amount per month, per employee (or the whole firm when
``employee_id`` is None) and optionally per product group.

Rows are keyed by (period, employee, group). The unique constraint cannot guard
the firm-wide row (NULLs are distinct in SQL), so ``set_plan`` serialises writers
of one key with a transaction-scoped advisory lock on PostgreSQL; SQLite writers
are serialised by ``BEGIN IMMEDIATE`` already.
"""

from __future__ import annotations

import zlib
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import ValidationFailed
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import Employee, ProductGroup, SalesPlan

MAX_AMOUNT = Decimal("9999999999999.99")


def parse_period(value: date | str, *, field: str = "period") -> date:
    """A month as its first day, from ``date(2026, 3, 1)``, ``"2026-03"`` or ``"2026-03-01"``."""
    if isinstance(value, date):
        if value.day != 1:
            raise ValidationFailed("A plan period is a month: give its first day", field=field)
        return value
    try:
        parts = [int(p) for p in str(value).strip().split("-")]
        if len(parts) == 2:
            return date(parts[0], parts[1], 1)
        if len(parts) == 3 and parts[2] == 1:
            return date(*parts)
    except ValueError:
        pass
    raise ValidationFailed(f"Bad month {value!r}: expected YYYY-MM", field=field)


def _key_clause(period: date, employee_id: int | None, product_group_id: int | None):
    return (
        SalesPlan.period == period,
        SalesPlan.employee_id.is_(None)
        if employee_id is None
        else SalesPlan.employee_id == employee_id,
        SalesPlan.product_group_id.is_(None)
        if product_group_id is None
        else SalesPlan.product_group_id == product_group_id,
    )


async def set_plan(
    session: AsyncSession,
    *,
    period: date | str,
    amount: Decimal | int | str,
    employee_id: int | None = None,
    product_group_id: int | None = None,
) -> SalesPlan:
    """Create or replace the plan amount for (month, employee|firm, group|all)."""
    month = parse_period(period)
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except ArithmeticError as exc:
        raise ValidationFailed(f"Bad amount {amount!r}", field="amount") from exc
    if not Decimal(0) <= value <= MAX_AMOUNT:
        raise ValidationFailed("The plan amount must be zero or more", field="amount")
    await require_ref(session, Employee, employee_id, field="employee_id", what="Employee")
    await require_ref(
        session, ProductGroup, product_group_id, field="product_group_id", what="Product group"
    )
    if session.bind.dialect.name == "postgresql":
        key = f"sales_plan:{month}:{employee_id}:{product_group_id}"
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())}
        )
    row = await session.scalar(
        select(SalesPlan).where(*_key_clause(month, employee_id, product_group_id))
    )
    if row is None:
        row = SalesPlan(
            period=month, employee_id=employee_id, product_group_id=product_group_id, amount=value
        )
        session.add(row)
    else:
        row.amount = value
    await session.flush()
    return row


async def clear_plan(
    session: AsyncSession,
    *,
    period: date | str,
    employee_id: int | None = None,
    product_group_id: int | None = None,
) -> bool:
    """Remove the plan row of this key if there is one; True if a row went."""
    month = parse_period(period)
    row = await session.scalar(
        select(SalesPlan).where(*_key_clause(month, employee_id, product_group_id))
    )
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def set_plans(session: AsyncSession, *, rows: list[dict[str, Any]]) -> list[SalesPlan]:
    """Set several rows at once (``amount`` None clears that key); the rows now set."""
    kept: dict[tuple, SalesPlan] = {}
    for row in rows:
        key = (
            parse_period(row["period"]),
            row.get("employee_id"),
            row.get("product_group_id"),
        )
        fields = dict(zip(("period", "employee_id", "product_group_id"), key, strict=True))
        if row.get("amount") is None:
            await clear_plan(session, **fields)
            kept.pop(key, None)
        else:
            kept[key] = await set_plan(session, amount=row["amount"], **fields)
    return list(kept.values())


async def delete_plan(session: AsyncSession, plan_id: int) -> None:
    """Remove one plan row (NotFound if it is not there)."""
    row = await get_or_404(session, SalesPlan, plan_id, what="Sales plan")
    await session.delete(row)
    await session.flush()


async def list_plans(
    session: AsyncSession,
    *,
    period_from: date | str | None = None,
    period_to: date | str | None = None,
    employee_id: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> tuple[list[SalesPlan], int]:
    """Plan rows for months in [period_from, period_to] (both inclusive), by month."""
    conditions = []
    if period_from is not None:
        conditions.append(SalesPlan.period >= parse_period(period_from, field="period_from"))
    if period_to is not None:
        conditions.append(SalesPlan.period <= parse_period(period_to, field="period_to"))
    if employee_id is not None:
        conditions.append(SalesPlan.employee_id == employee_id)
    total = await session.scalar(select(func.count(SalesPlan.id)).where(*conditions))
    rows = await session.scalars(
        select(SalesPlan)
        .where(*conditions)
        .order_by(
            SalesPlan.period,
            SalesPlan.employee_id.is_(None),
            SalesPlan.employee_id,
            SalesPlan.product_group_id.is_(None).desc(),
            SalesPlan.product_group_id,
            SalesPlan.id,
        )
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
