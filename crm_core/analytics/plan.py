"""Plan vs actual per employee for a month or a range of months.

- plan: the employee's ``sales_plans`` rows without a product group (group rows
  are a breakdown of the same money, not an addition), summed over the months.
- actual: the totals of the employee's (``orders.responsible_id``) non-cancelled
  orders dated in the months (firm's days), read from ``order_day_figures``.
- paid: payments received in the months (``payments.paid_at``) on orders the
  employee is responsible for, whatever the order's date or state.
- The firm total: actual and paid of all orders (with or without a responsible);
  the plan of each month is its firm-wide row (``employee_id`` NULL) if set, else
  the sum of that month's employee plans.
Orders without a responsible appear as one row with ``employee_id`` None (no plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.analytics.day_figures import order_figures
from crm_core.analytics.periods import (
    FIRM_TIMEZONE,
    day_start,
    money,
    months,
    next_month,
    percent,
)
from crm_core.models import Employee, Order, Payment, SalesPlan
from crm_core.plans.service import parse_period


@dataclass(slots=True)
class PlanRow:
    employee_id: int | None
    employee_name: str
    plan: Decimal
    actual: Decimal
    paid: Decimal
    orders: int = 0
    percent: Decimal | None = None
    paid_percent: Decimal | None = None

    def finish(self) -> PlanRow:
        self.percent = percent(self.actual, self.plan)
        self.paid_percent = percent(self.paid, self.plan)
        return self


@dataclass(slots=True)
class PlanReport:
    period_from: date
    period_to: date
    rows: list[PlanRow]
    total: PlanRow
    months: list[PlanReport] = field(default_factory=list)


async def plan_vs_actual(
    session: AsyncSession,
    *,
    period: date | str,
    period_to: date | str | None = None,
    employee_id: int | None = None,
    by_month: bool = False,
    timezone: str = FIRM_TIMEZONE,
) -> PlanReport:
    """Plan, sold and paid per employee for the month ``period`` (to ``period_to``)."""
    first = parse_period(period)
    last = parse_period(period_to, field="period_to") if period_to is not None else first
    span = months(first, last)
    report = await _report(session, first, last, employee_id, timezone)
    if by_month and len(span) > 1:
        report.months = [await _report(session, m, m, employee_id, timezone) for m in span]
    return report


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Employee.id, Employee.name).where(Employee.id.in_(ids)))
    return {i: name for i, name in rows}


async def _report(
    session: AsyncSession, first: date, last: date, employee_id: int | None, timezone: str
) -> PlanReport:
    lo, hi = day_start(first, timezone), day_start(next_month(last), timezone)
    paid = (
        select(Order.responsible_id, func.sum(Payment.amount))
        .join(Order, Order.id == Payment.order_id)
        .where(Payment.paid_at >= lo, Payment.paid_at < hi)
    )
    # Plan rows are few (months x employees): group them by month and employee here.
    planned = select(SalesPlan.period, SalesPlan.employee_id, func.sum(SalesPlan.amount)).where(
        SalesPlan.period >= first, SalesPlan.period <= last, SalesPlan.product_group_id.is_(None)
    )
    if employee_id is not None:
        paid = paid.where(Order.responsible_id == employee_id)
        planned = planned.where(SalesPlan.employee_id == employee_id)
    # From the daily figures the order services keep (day_figures.py).
    sold_by = await order_figures(
        session,
        lo=lo,
        hi=hi,
        by="responsible_id",
        responsible_id=employee_id,
        without_cancelled=True,
    )
    paid_by = {e: money(s) for e, s in await session.execute(paid.group_by(Order.responsible_id))}
    plan_by: dict[int, Decimal] = {}
    month_firm: dict[date, Decimal] = {}
    month_staff: dict[date, Decimal] = {}
    grouped = planned.group_by(SalesPlan.period, SalesPlan.employee_id)
    for month, e, s in await session.execute(grouped):
        if e is None:
            month_firm[month] = money(s)
        else:
            plan_by[e] = plan_by.get(e, money(0)) + money(s)
            month_staff[month] = month_staff.get(month, money(0)) + money(s)
    # Each month's firm plan is its firm-wide row, else the sum of the employees' plans.
    firm_plan = sum(
        (month_firm.get(m, month_staff.get(m, money(0))) for m in {*month_firm, *month_staff}),
        money(0),
    )
    ids = {e for e in (*sold_by, *paid_by, *plan_by) if e is not None}
    names = await _names(session, ids)
    rows = [
        PlanRow(
            employee_id=e,
            employee_name=names.get(e, ""),
            plan=plan_by.get(e, money(0)),
            actual=sold_by.get(e, (0, money(0)))[1],
            paid=paid_by.get(e, money(0)),
            orders=sold_by.get(e, (0, money(0)))[0],
        ).finish()
        for e in ids
    ]
    rows.sort(key=lambda r: (r.employee_name, r.employee_id or 0))
    if None in sold_by or None in paid_by:
        rows.append(
            PlanRow(
                employee_id=None,
                employee_name="",
                plan=money(0),
                actual=sold_by.get(None, (0, money(0)))[1],
                paid=paid_by.get(None, money(0)),
                orders=sold_by.get(None, (0, money(0)))[0],
            ).finish()
        )
    total = PlanRow(
        employee_id=employee_id,
        employee_name=names.get(employee_id, "") if employee_id else "",
        plan=firm_plan if employee_id is None else plan_by.get(employee_id, money(0)),
        actual=sum((r.actual for r in rows), money(0)),
        paid=sum((r.paid for r in rows), money(0)),
        orders=sum(r.orders for r in rows),
    ).finish()
    return PlanReport(period_from=first, period_to=last, rows=rows, total=total)
