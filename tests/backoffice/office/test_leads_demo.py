"""Every page of the leads/customers/settings/campaigns part renders over the demo firm."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm_core.context import SYSTEM
from crm_core.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, load_demo
from crm_core.models import Customer, Employee, Form, Lead, LeadResult
from tests.backoffice.office.conftest import _signed_in


async def test_demo_firm_pages(app, uow):
    async with uow(SYSTEM) as s:
        assert await load_demo(s) is True
    async with uow() as s:
        lead_ids = list(await s.scalars(select(Lead.id).order_by(Lead.id)))
        converted = await s.scalar(select(Lead.id).where(Lead.result == LeadResult.CONVERTED))
        customer_ids = list(await s.scalars(select(Customer.id).order_by(Customer.id)))
        employee_ids = list(await s.scalars(select(Employee.id)))
        form_ids = list(await s.scalars(select(Form.id)))
    client = await _signed_in(app, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    try:
        board = await client.get("/office/leads/board")
        assert board.status_code == 200
        assert board.text.index("Не обработан") < board.text.index("В работе")
        assert len(re.findall(r'class="kanban-card"', board.text)) > 10
        urls = [
            "/office/leads?who=all",
            "/office/leads?result=all&who=all",
            f"/office/leads/{converted}",
            "/office/leads/states",
            "/office/customers?who=all",
            "/office/settings",
            "/office/campaigns",
            "/office/campaigns/new",
            *[f"/office/leads/{i}" for i in lead_ids[:10]],
            *[f"/office/customers/{i}" for i in customer_ids[:10]],
            *[f"/office/settings/employees/{i}" for i in employee_ids],
            *[f"/office/settings/forms/{i}" for i in form_ids],
        ]
        for url in urls:
            r = await client.get(url)
            assert r.status_code == 200, url
    finally:
        await client.aclose()
