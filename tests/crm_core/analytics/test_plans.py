"""The sales plan rows: upsert by key (also the firm-wide NULL key), clear, list."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import SalesPlan
from crm_core.plans.service import clear_plan, delete_plan, list_plans, set_plan, set_plans
from tests.factories.activity import make_employee


async def test_upsert_by_key(session):
    emp = await make_employee(session)
    a = await set_plan(session, period="2026-03", employee_id=emp.id, amount="100")
    b = await set_plan(session, period=date(2026, 3, 1), employee_id=emp.id, amount="150.555")
    assert a.id == b.id and b.amount.to_eng_string() == "150.56"
    firm = await set_plan(session, period="2026-03", amount=0)
    again = await set_plan(session, period="2026-03", amount=10)
    assert firm.id == again.id and again.amount == 10
    assert await session.scalar(select(func.count(SalesPlan.id))) == 2


async def test_bad_input(session):
    with pytest.raises(ValidationFailed) as err:
        await set_plan(session, period="2026-03", amount="-1")
    assert err.value.field == "amount"
    with pytest.raises(ValidationFailed) as err:
        await set_plan(session, period=date(2026, 3, 2), amount="1")
    assert err.value.field == "period"
    with pytest.raises(ValidationFailed) as err:
        await set_plan(session, period="2026-03", employee_id=999999, amount="1")
    assert err.value.field == "employee_id"
    with pytest.raises(ValidationFailed) as err:
        await set_plan(session, period="2026-03", product_group_id=999999, amount="1")
    assert err.value.field == "product_group_id"


async def test_set_many_clear_list_delete(session):
    emp = await make_employee(session)
    kept = await set_plans(
        session,
        rows=[
            {"period": "2026-01", "amount": "10"},
            {"period": "2026-02", "employee_id": emp.id, "amount": "20"},
            {"period": "2026-03", "employee_id": emp.id, "amount": "30"},
            {"period": "2026-03", "employee_id": emp.id, "amount": None},
        ],
    )
    assert [str(p.amount) for p in kept] == ["10.00", "20.00"]
    items, total = await list_plans(session, period_from="2026-02", period_to="2026-12")
    assert total == 1 and items[0].employee_id == emp.id
    assert (await list_plans(session))[1] == 2
    assert await clear_plan(session, period="2026-01") is True
    assert await clear_plan(session, period="2026-01") is False
    await delete_plan(session, kept[1].id)
    assert (await list_plans(session))[1] == 0
    with pytest.raises(NotFound):
        await delete_plan(session, kept[1].id)


async def test_two_writers_of_the_firm_plan_make_one_row(uow):
    async def write(amount: str):
        async with uow() as s:
            await set_plan(s, period="2026-05", amount=amount)

    await asyncio.gather(write("1"), write("2"), write("3"))
    async with uow() as s:
        rows = list(await s.scalars(select(SalesPlan)))
    assert len(rows) == 1 and str(rows[0].amount) in ("1.00", "2.00", "3.00")
