"""Plan vs actual per product group for a month or a range of months.

- A group's figures cover its whole subtree (``product_groups.parent_id``). The
  groups table is small: the tree is resolved here into (ancestor, group) pairs and
  handed to SQL as a ``VALUES`` CTE, so one GROUP BY over the order lines yields
  every group's subtree sum and its distinct orders.
- actual: ``order_lines.amount`` of non-cancelled orders dated in the months (firm's
  days), of the employee's orders (``orders.responsible_id``) when one is given.
  Lines without a product, or whose product has no group, form one row with
  ``group_id`` None.
- plan: the group rows of ``sales_plans``. With an employee, that employee's rows;
  without, per month the firm-wide row of the group if set, else the sum of the
  employees' rows (as ``plan.py`` reads the firm plan, so nothing counts twice).
  A group without a row of its own in a month plans the sum of its subgroups'.
- The total: every line sold in the months; its plan is the top-level groups' sum.
Only groups with a plan or a sale in the period are listed, in tree order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Integer, case, column, distinct, func, select, values
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.analytics.periods import FIRM_TIMEZONE, day_start, money, months, next_month
from crm_core.analytics.periods import percent as percent_of
from crm_core.models import Order, OrderLine, Product, ProductGroup, SalesPlan, StateCategory
from crm_core.plans.service import parse_period


@dataclass(slots=True)
class GroupPlanRow:
    group_id: int | None
    group_name: str
    parent_id: int | None
    depth: int
    plan: Decimal
    actual: Decimal
    orders: int = 0
    percent: Decimal | None = None


@dataclass(slots=True)
class GroupPlanReport:
    period_from: date
    period_to: date
    employee_id: int | None
    rows: list[GroupPlanRow]
    total: GroupPlanRow
    months: list[GroupPlanReport] = field(default_factory=list)


@dataclass(slots=True)
class _Tree:
    names: dict[int, str]
    parents: dict[int, int | None]
    children: dict[int | None, list[int]]

    def ancestors(self, group_id: int) -> list[int]:
        """The group itself and every group above it (a parent cycle stops the walk)."""
        chain: list[int] = []
        current: int | None = group_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parents.get(current)
        return chain

    def walk(self, parent: int | None = None, depth: int = 0, seen=None):
        """(group, depth) depth-first in the catalog's order."""
        seen = set() if seen is None else seen
        for g in self.children.get(parent, []):
            if g not in seen:
                seen.add(g)
                yield g, depth
                yield from self.walk(g, depth + 1, seen)


async def plan_vs_actual_by_group(
    session: AsyncSession,
    *,
    period: date | str,
    period_to: date | str | None = None,
    employee_id: int | None = None,
    by_month: bool = False,
    timezone: str = FIRM_TIMEZONE,
) -> GroupPlanReport:
    """Plan and sold per product group (with its subgroups) for ``period`` (to ``period_to``)."""
    first = parse_period(period)
    last = parse_period(period_to, field="period_to") if period_to is not None else first
    span = months(first, last)
    tree = await _tree(session)
    report = await _report(session, tree, first, last, employee_id, timezone)
    if by_month and len(span) > 1:
        report.months = [await _report(session, tree, m, m, employee_id, timezone) for m in span]
    return report


async def _tree(session: AsyncSession) -> _Tree:
    rows = (
        await session.execute(
            select(ProductGroup.id, ProductGroup.name, ProductGroup.parent_id).order_by(
                ProductGroup.position, ProductGroup.name, ProductGroup.id
            )
        )
    ).all()
    names = {g: name for g, name, _ in rows}
    parents = {g: (p if p in names else None) for g, _, p in rows}
    children: dict[int | None, list[int]] = defaultdict(list)
    for g, _, _ in rows:
        children[parents[g]].append(g)
    tree = _Tree(names, parents, children)
    # A parent cycle has no root to hang from: list its members at the top level.
    reachable = {g for g, _ in tree.walk()}
    children[None].extend(g for g, _, _ in rows if g not in reachable)
    return tree


async def _sold(session, tree: _Tree, lo, hi, employee_id: int | None):
    """{group: (orders, amount)} over subtrees, and (orders, amount) ungrouped and overall."""
    scope = [Order.date >= lo, Order.date < hi, Order.category != StateCategory.CANCELLED]
    if employee_id is not None:
        scope.append(Order.responsible_id == employee_id)
    by_group: dict[int, tuple[int, Decimal]] = {}
    pairs = [(a, g) for g in tree.names for a in tree.ancestors(g)]
    if pairs:
        # Ids come from the database as ints: inlined, so no bind-parameter limit applies.
        mapping = (
            values(
                column("ancestor_id", Integer),
                column("group_id", Integer),
                name="group_tree",
                literal_binds=True,
            )
            .data(pairs)
            .cte("group_tree")
        )
        grouped = (
            select(
                mapping.c.ancestor_id,
                func.count(distinct(OrderLine.order_id)),
                func.sum(OrderLine.amount),
            )
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .join(mapping, mapping.c.group_id == Product.group_id)
            .where(*scope)
            .group_by(mapping.c.ancestor_id)
        )
        by_group = {g: (n, money(s)) for g, n, s in await session.execute(grouped)}
    ungrouped = Product.group_id.is_(None)
    totals = (
        select(
            func.count(distinct(case((ungrouped, OrderLine.order_id)))),
            func.sum(case((ungrouped, OrderLine.amount))),
            func.count(distinct(OrderLine.order_id)),
            func.sum(OrderLine.amount),
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .where(*scope)
    )
    n_none, s_none, n_all, s_all = (await session.execute(totals)).one()
    return by_group, (n_none, money(s_none)), (n_all, money(s_all))


async def _planned(session, tree: _Tree, first: date, last: date, employee_id: int | None):
    """{group: plan over the months}, subgroups' plans standing in where a group has none."""
    query = select(
        SalesPlan.period,
        SalesPlan.product_group_id,
        SalesPlan.employee_id.is_(None),
        func.sum(SalesPlan.amount),
    ).where(
        SalesPlan.period >= first,
        SalesPlan.period <= last,
        SalesPlan.product_group_id.is_not(None),
    )
    if employee_id is not None:
        query = query.where(SalesPlan.employee_id == employee_id)
    query = query.group_by(
        SalesPlan.period, SalesPlan.product_group_id, SalesPlan.employee_id.is_(None)
    )
    firm: dict[tuple[date, int], Decimal] = {}
    staff: dict[tuple[date, int], Decimal] = {}
    for month, group, is_firm, amount in await session.execute(query):
        (firm if is_firm and employee_id is None else staff)[month, group] = money(amount)
    own = {**staff, **firm}  # the firm-wide row wins over the employees' sum
    plans: dict[int, Decimal] = defaultdict(lambda: money(0))

    def month_plan(month: date, group: int, seen: set[int]) -> Decimal:
        if (month, group) in own:
            return own[month, group]
        seen.add(group)
        kids = [k for k in tree.children.get(group, []) if k not in seen]
        return sum((month_plan(month, k, seen) for k in kids), money(0))

    for month in {m for m, _ in own}:
        for group in tree.names:
            plans[group] += month_plan(month, group, set())
    return plans


async def _report(
    session: AsyncSession,
    tree: _Tree,
    first: date,
    last: date,
    employee_id: int | None,
    timezone: str,
) -> GroupPlanReport:
    lo, hi = day_start(first, timezone), day_start(next_month(last), timezone)
    by_group, ungrouped, overall = await _sold(session, tree, lo, hi, employee_id)
    plans = await _planned(session, tree, first, last, employee_id)
    rows = []
    for group, depth in tree.walk():
        orders, actual = by_group.get(group, (0, money(0)))
        plan = plans.get(group, money(0))
        if plan or actual or orders:
            rows.append(
                _finish(
                    GroupPlanRow(
                        group, tree.names[group], tree.parents[group], depth, plan, actual, orders
                    )
                )
            )
    if ungrouped[0]:
        rows.append(_finish(GroupPlanRow(None, "", None, 0, money(0), ungrouped[1], ungrouped[0])))
    top_plan = sum((plans.get(g, money(0)) for g in tree.children.get(None, [])), money(0))
    total = _finish(GroupPlanRow(None, "", None, 0, top_plan, overall[1], overall[0]))
    return GroupPlanReport(first, last, employee_id, rows, total)


def _finish(row: GroupPlanRow) -> GroupPlanRow:
    row.percent = percent_of(row.actual, row.plan)
    return row
