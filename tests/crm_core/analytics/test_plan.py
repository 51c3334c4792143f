"""Plan vs actual against figures counted by hand from ``dataset.py``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.analytics.service import plan_vs_actual
from crm_core.errors import ValidationFailed
from tests.crm_core.analytics.dataset import build

D = Decimal


def _rows(report):
    return [
        (r.employee_name, r.plan, r.actual, r.paid, r.orders, r.percent, r.paid_percent)
        for r in report.rows
    ]


async def test_a_month(session):
    await build(session)
    report = await plan_vs_actual(session, period="2026-03")
    assert _rows(report) == [
        # Anna: 200 (in work) + 999 (another kind); the cancelled 400 and February's
        # 1000 are not sales of March. Paid: 250 + 20 in March (7 was in February).
        ("Anna", D("1000.00"), D("1199.00"), D("270.00"), 2, D("119.9"), D("27.0")),
        ("Boris", D("2000.00"), D("800.00"), D("300.00"), 2, D("40.0"), D("15.0")),
        ("Vera", D("500.00"), D("0.00"), D("0.00"), 0, D("0.0"), D("0.0")),
        ("", D("0.00"), D("100.00"), D("0.00"), 1, None, None),  # no responsible
    ]
    t = report.total
    assert (t.plan, t.actual, t.paid, t.orders) == (D("5000.00"), D("2099.00"), D("570.00"), 5)
    assert (t.percent, t.paid_percent) == (D("42.0"), D("11.4"))


async def test_one_employee(session):
    data = await build(session)
    report = await plan_vs_actual(session, period="2026-03", employee_id=data.anna.id)
    assert [r.employee_id for r in report.rows] == [data.anna.id]
    t = report.total
    assert (t.plan, t.actual, t.paid, t.percent) == (
        D("1000.00"),
        D("1199.00"),
        D("270.00"),
        D("119.9"),
    )


async def test_a_range_of_months(session):
    await build(session)
    report = await plan_vs_actual(session, period="2026-03", period_to="2026-04", by_month=True)
    assert _rows(report)[:2] == [
        ("Anna", D("10999.00"), D("1199.00"), D("270.00"), 2, D("10.9"), D("2.5")),
        ("Boris", D("2000.00"), D("800.00"), D("800.00"), 2, D("40.0"), D("40.0")),
    ]
    # March has a firm plan (5000); April has none, so its plan is Anna's 9999.
    assert report.total.plan == D("14999.00")
    assert report.total.actual == D("2149.00") and report.total.paid == D("1070.00")
    assert [m.period_from.month for m in report.months] == [3, 4]
    april = report.months[1]
    assert april.total.plan == D("9999.00") and april.total.actual == D("50.00")
    assert {r.employee_name: r.paid for r in april.rows}["Boris"] == D("500.00")


async def test_bad_periods(session):
    for bad in ("2026-13", "March", "2026-03-15"):
        with pytest.raises(ValidationFailed):
            await plan_vs_actual(session, period=bad)
    with pytest.raises(ValidationFailed):
        await plan_vs_actual(session, period="2026-03", period_to="2026-02")
