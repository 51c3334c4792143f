"""The sales funnel: orders per state of a kind, and lead → customer → order → paid.

Everything is counted by the database (GROUP BY / COUNT DISTINCT); Python only
arranges the handful of aggregated rows. Orders per state come from the daily
figures the order services keep (``order_day_figures``, see ``day_figures.py``), not
from a scan of the period's orders. Readings:

- Orders per state: orders of the kind dated in the period (firm's days, see
  ``periods.py``), per state in position order, states without orders included
  with zeros. ``amount`` is the sum of order totals.
- ``reached`` (the back-office funnel chart): for each non-cancelled state, the
  orders now in that state or in a non-cancelled state further on — i.e. that got
  at least this far; ``conversion`` is reached here / reached at the previous
  non-cancelled state. Cancelled states have neither (a cancelled order's furthest
  state is not kept).
- The lead chain is a cohort: leads created in the period (of the responsible,
  when given) → of those, converted to a customer → distinct customers of those
  leads with at least one non-cancelled order (any date, any kind) → distinct
  customers with at least one fully paid order (``paid_amount >= total > 0``).
  Each stage has its percentage of the previous one. Whether a customer has such
  orders is read from ``customer_order_marks``, which the order services keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case, distinct, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.analytics.day_figures import order_figures
from crm_core.analytics.periods import FIRM_TIMEZONE, day_bounds, money, percent
from crm_core.errors import ValidationFailed
from crm_core.models import CustomerOrderMarks, Lead, OrderKind, OrderState, StateCategory


@dataclass(slots=True)
class StateRow:
    id: int
    code: str
    name: str
    category: StateCategory
    position: int
    count: int
    amount: Decimal
    reached: int | None = None
    conversion: Decimal | None = None


@dataclass(slots=True)
class Stage:
    stage: str
    count: int
    percent: Decimal | None  # of the previous stage


@dataclass(slots=True)
class Funnel:
    date_from: date
    date_to: date
    kind_id: int
    responsible_id: int | None
    states: list[StateRow]
    count: int
    amount: Decimal
    by_category: dict[str, dict[str, Decimal | int]] = field(default_factory=dict)
    conversion: list[Stage] = field(default_factory=list)


async def _kind_id(session: AsyncSession, kind_id: int | None) -> int:
    if kind_id is not None:
        if await session.get(OrderKind, kind_id) is None:
            raise ValidationFailed(f"Order kind {kind_id} does not exist", field="kind_id")
        return kind_id
    found = await session.scalar(
        select(OrderKind.id).order_by(OrderKind.is_default.desc(), OrderKind.id).limit(1)
    )
    if found is None:
        raise ValidationFailed("There is no order kind yet", field="kind_id")
    return found


def _reached(rows: list[StateRow]) -> None:
    live = [r for r in rows if r.category != StateCategory.CANCELLED]
    remaining = sum(r.count for r in live)
    previous: int | None = None
    for row in live:
        row.reached = remaining
        row.conversion = percent(remaining, previous) if previous is not None else None
        previous = remaining
        remaining -= row.count


async def _lead_chain(session: AsyncSession, lo, hi, responsible_id: int | None) -> list[Stage]:
    cohort = [Lead.created_at >= lo, Lead.created_at < hi]
    if responsible_id is not None:
        cohort.append(Lead.responsible_id == responsible_id)
    # One pass over the cohort's leads: each converted lead's customer looked up in
    # customer_order_marks (kept by the order services) instead of two EXISTS into its
    # orders (~20 µs a customer); a customer of several leads counts once (DISTINCT).
    marks = CustomerOrderMarks
    leads, converted, ordered, paid = (
        await session.execute(
            select(
                func.count(Lead.id),
                func.count(Lead.customer_id),
                func.count(distinct(case((marks.live_orders > 0, Lead.customer_id)))),
                func.count(distinct(case((marks.paid_orders > 0, Lead.customer_id)))),
            )
            .select_from(Lead)
            .outerjoin(marks, marks.customer_id == Lead.customer_id)
            .where(*cohort)
        )
    ).one()
    stages, previous = [], None
    for name, count in (
        ("leads", leads),
        ("converted", converted),
        ("ordered", ordered),
        ("paid", paid),
    ):
        stages.append(
            Stage(name, count, percent(count, previous) if previous is not None else None)
        )
        previous = count
    return stages


async def sales_funnel(
    session: AsyncSession,
    *,
    date_from: date,
    date_to: date,
    kind_id: int | None = None,
    responsible_id: int | None = None,
    timezone: str = FIRM_TIMEZONE,
) -> Funnel:
    """Orders per state of a kind in the firm's days ``date_from..date_to`` (inclusive),
    with amounts, reach and the lead → customer → order → paid chain."""
    lo, hi = day_bounds(date_from, date_to, timezone)
    if session.bind.dialect.name == "postgresql":
        # These aggregates look costly to the planner, so it compiles them (JIT): about
        # 70 ms per query that a year's funnel never wins back. This transaction only.
        await session.execute(text("SET LOCAL jit = off"))
    kind = await _kind_id(session, kind_id)
    states = await session.execute(
        select(
            OrderState.id,
            OrderState.code,
            OrderState.name,
            OrderState.category,
            OrderState.position,
        )
        .where(OrderState.kind_id == kind)
        .order_by(OrderState.position, OrderState.id)
    )
    # Whole UTC days from the daily figures the order services keep, the edge hours
    # from the orders themselves (day_figures.py).
    figures = await order_figures(
        session, lo=lo, hi=hi, by="state_id", kind_id=kind, responsible_id=responsible_id
    )
    rows = [
        StateRow(sid, code, name, StateCategory(cat), pos, *figures.get(sid, (0, money(0))))
        for sid, code, name, cat, pos in states
    ]
    _reached(rows)
    by_category: dict[str, dict[str, Decimal | int]] = {
        c.value: {"count": 0, "amount": money(0)} for c in StateCategory
    }
    for row in rows:
        bucket = by_category[row.category.value]
        bucket["count"] += row.count
        bucket["amount"] += row.amount
    return Funnel(
        date_from=date_from,
        date_to=date_to,
        kind_id=kind,
        responsible_id=responsible_id,
        states=rows,
        count=sum(r.count for r in rows),
        amount=sum((r.amount for r in rows), money(0)),
        by_category=by_category,
        conversion=await _lead_chain(session, lo, hi, responsible_id),
    )
