"""The sales funnel against figures counted by hand from ``dataset.py``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.analytics.service import sales_funnel
from crm_core.errors import ValidationFailed
from crm_core.models import OrderKind
from tests.crm_core.analytics.dataset import MARCH, build
from tests.factories.activity import default_kind

D = Decimal


async def test_orders_per_state_of_the_default_kind(session):
    await build(session)
    f = await sales_funnel(session, date_from=MARCH[0], date_to=MARCH[1])
    assert f.kind_id == (await default_kind(session)).id
    got = [(r.code, r.count, r.amount, r.reached, r.conversion) for r in f.states]
    assert got == [
        ("new", 1, D("100.00"), 4, None),  # the order at 00:00 MSK on 1 March is in
        ("in_work", 1, D("200.00"), 3, D("75.0")),
        ("production", 0, D("0.00"), 2, D("66.7")),
        ("quote", 0, D("0.00"), 2, D("100.0")),
        ("completed", 2, D("800.00"), 2, D("100.0")),  # 23:59:59 MSK on 31 March is in
        ("cancelled", 1, D("400.00"), None, None),
    ]
    assert f.count == 5 and f.amount == D("1500.00")
    assert f.by_category == {
        "open": {"count": 2, "amount": D("300.00")},
        "completed": {"count": 2, "amount": D("800.00")},
        "cancelled": {"count": 1, "amount": D("400.00")},
    }


async def test_lead_chain(session):
    await build(session)
    f = await sales_funnel(session, date_from=MARCH[0], date_to=MARCH[1])
    # 5 leads in March; 4 converted (two into the same customer C1); of C1, C2, C3
    # two have a live order (C3's only order is cancelled); only C1 paid in full.
    assert [(s.stage, s.count, s.percent) for s in f.conversion] == [
        ("leads", 5, None),
        ("converted", 4, D("80.0")),
        ("ordered", 2, D("50.0")),
        ("paid", 1, D("50.0")),
    ]


async def test_by_responsible(session):
    data = await build(session)
    f = await sales_funnel(
        session, date_from=MARCH[0], date_to=MARCH[1], responsible_id=data.anna.id
    )
    assert {r.code: r.count for r in f.states if r.count} == {"in_work": 1, "cancelled": 1}
    assert [s.count for s in f.conversion] == [1, 1, 1, 1]


async def test_another_kind_and_a_single_day(session):
    await build(session)
    kind_id = await session.scalar(select(OrderKind.id).where(OrderKind.code == "service"))
    f = await sales_funnel(session, date_from=MARCH[0], date_to=MARCH[1], kind_id=kind_id)
    assert [(r.code, r.count, r.amount) for r in f.states] == [
        ("new", 1, D("999.00")),
        ("done", 0, D("0.00")),
    ]
    day = await sales_funnel(session, date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))
    assert day.count == 1 and day.amount == D("100.00")
    empty = await sales_funnel(session, date_from=date(2025, 1, 1), date_to=date(2025, 1, 31))
    assert empty.count == 0 and len(empty.states) == 6
    assert [s.count for s in empty.conversion] == [0, 0, 0, 0]
    assert all(s.percent is None for s in empty.conversion)


async def test_bad_input(session):
    with pytest.raises(ValidationFailed) as err:
        await sales_funnel(session, date_from=MARCH[1], date_to=MARCH[0])
    assert err.value.field == "date_to"
    with pytest.raises(ValidationFailed) as err:
        await sales_funnel(session, date_from=MARCH[0], date_to=MARCH[1], kind_id=999999)
    assert err.value.field == "kind_id"
