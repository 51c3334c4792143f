"""Plan vs actual per product group against figures counted by hand from
``dataset_groups.py``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.analytics.service import plan_vs_actual_by_group
from crm_core.errors import ValidationFailed
from crm_core.models import ProductGroup
from tests.crm_core.analytics.dataset_groups import build_groups

D = Decimal


def _rows(report):
    return [(r.group_name, r.depth, r.plan, r.actual, r.orders, r.percent) for r in report.rows]


async def test_a_month(session):
    g = await build_groups(session)
    report = await plan_vs_actual_by_group(session, period="2026-03")
    assert _rows(report) == [
        ("Goods", 0, D("1000.00"), D("480.00"), 3, D("48.0")),
        ("Tools", 1, D("250.00"), D("380.00"), 3, D("152.0")),
        ("Drills", 2, D("0.00"), D("300.00"), 1, None),
        ("Services", 0, D("70.00"), D("51.00"), 2, D("72.9")),
        ("Install", 1, D("70.00"), D("0.00"), 0, D("0.0")),
        ("", 0, D("0.00"), D("13.00"), 2, None),  # no product, or a product without a group
    ]
    assert [(r.group_id, r.parent_id) for r in report.rows[:3]] == [
        (g.goods.id, None),
        (g.tools.id, g.goods.id),
        (g.drills.id, g.tools.id),
    ]
    assert report.rows[-1].group_id is None
    t = report.total
    assert (t.plan, t.actual, t.orders, t.percent) == (D("1070.00"), D("544.00"), 4, D("50.8"))


async def test_one_employee(session):
    g = await build_groups(session)
    report = await plan_vs_actual_by_group(session, period="2026-03", employee_id=g.anna.id)
    assert _rows(report) == [
        ("Goods", 0, D("300.00"), D("120.00"), 1, D("40.0")),
        ("Tools", 1, D("100.00"), D("20.00"), 1, D("20.0")),
        ("", 0, D("0.00"), D("5.00"), 1, None),
    ]
    t = report.total
    assert (t.plan, t.actual, t.orders, t.percent) == (D("300.00"), D("125.00"), 1, D("41.7"))
    assert report.employee_id == g.anna.id


async def test_a_range_of_months(session):
    await build_groups(session)
    report = await plan_vs_actual_by_group(
        session, period="2026-03", period_to="2026-04", by_month=True
    )
    services = next(r for r in report.rows if r.group_name == "Services")
    # March plans its subgroup's 70; April has its own firm row of 400.
    assert (services.plan, services.actual, services.orders) == (D("470.00"), D("100050.00"), 3)
    assert report.total.plan == D("1470.00") and report.total.actual == D("100543.00")
    march, april = report.months
    assert march.total.actual == D("544.00")
    assert _rows(april) == [("Services", 0, D("400.00"), D("99999.00"), 1, D("24999.8"))]


async def test_no_groups_and_a_parent_cycle(session):
    report = await plan_vs_actual_by_group(session, period="2026-03")
    assert report.rows == [] and report.total.actual == D("0.00")
    # A broken tree (a parent cycle) must not hang the report.
    a = ProductGroup(name="A")
    session.add(a)
    await session.flush()
    b = ProductGroup(name="B", parent_id=a.id)
    session.add(b)
    await session.flush()
    a.parent_id = b.id
    await session.flush()
    report = await plan_vs_actual_by_group(session, period="2026-03")
    assert report.rows == []


async def test_bad_period(session):
    with pytest.raises(ValidationFailed) as err:
        await plan_vs_actual_by_group(session, period="2026-03", period_to="2026-02")
    assert err.value.field == "period_to"
