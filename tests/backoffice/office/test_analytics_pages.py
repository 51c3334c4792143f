"""The funnel and the sales plan pages: server-made SVG, escaping, roles, CSRF."""

from __future__ import annotations

import re
from decimal import Decimal

from backoffice.office.charts import FunnelBar, PlanBar, funnel_svg, plan_svg
from crm_core.orders.service import change_order_state, register_payment
from crm_core.plans.service import list_plans, set_plan
from tests.factories.commerce import make_buyer, make_order

XSS = "<script>alert(1)</script>"


def test_funnel_svg_widths_and_escaping():
    svg = str(
        funnel_svg(
            [FunnelBar(XSS, 10, "10"), FunnelBar("Half", 5, "5", note="→ 50.0 %")],
            title=f"T {XSS}",
        )
    )
    assert svg.startswith("<svg") and XSS not in svg and "&lt;script&gt;" in svg
    widths = [
        float(w) for w in re.findall(r'<rect class="bar" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)
    ]
    assert len(widths) == 2 and abs(widths[0] - 2 * widths[1]) < 0.2
    assert "→ 50.0 %" in svg
    empty = str(funnel_svg([], "empty"))
    assert "<rect" not in empty


def test_plan_svg_marks_over_plan():
    svg = str(plan_svg([PlanBar("A", 100, 120, "120 of 100"), PlanBar("B", 100, 50, "50")], "P"))
    assert svg.count('class="over"') == 1 and svg.count('class="done"') == 1


async def test_funnel_page(office, office_manager, uow, people):
    async with uow() as s:
        buyer = await make_buyer(s, name=XSS)
        first = await make_order(s, customer=buyer, total="1000.00")
        second = await make_order(s, customer=buyer, total="500.00")
        await make_order(s, customer=buyer, total="250.00")
        await change_order_state(s, first.id, state_code="completed")
        await change_order_state(s, second.id, state_code="in_work")
    r = await office.get("/office/analytics/funnel")
    assert r.status_code == 200
    html = r.text
    assert '<svg class="chart"' in html
    values = [int(v) for v in re.findall(r'<g class="stage" data-value="(\d+)"', html)]
    # Новый: 3 reached it, В работе: 2, Производство 1, Запрос КП 1, Завершён 1, Отменён 0 ...
    assert values[:2] == [3, 2]
    assert "Завершён" in html and XSS not in html
    assert (await office_manager.get("/office/analytics/funnel")).status_code == 200
    for query in ("from=2026-99-01", "from=2026-03-10&to=2026-01-01", "kind=abc", "responsible=-3"):
        r = await office.get(f"/office/analytics/funnel?{query}")
        assert r.status_code == 200, query
    r = await office.get("/office/analytics/funnel?from=2026-03-10&to=2026-01-01")
    assert "errors-box" in r.text


async def test_plan_page_admin_edits_manager_reads(office, office_manager, uow, people, clock):
    async with uow() as s:
        buyer = await make_buyer(s)
        order = await make_order(
            s, customer=buyer, total="600.00", responsible_id=people.manager_id
        )
        await register_payment(s, order.id, amount=Decimal("100.00"), method="cash")
        await set_plan(s, period="2026-03", employee_id=people.other_manager_id, amount="5000")
    r = await office.get("/office/analytics/plan?period=2026-03")
    assert r.status_code == 200 and 'id="plan-form"' in r.text
    r = await office.post_form(
        "/office/analytics/plan",
        {
            "period": "2026-03",
            "plan_firm": "2 000 000",
            f"plan_e{people.manager_id}": "1 200,00",
            f"plan_e{people.other_manager_id}": "",
        },
    )
    assert r.status_code == 303
    async with uow() as s:
        rows, _ = await list_plans(s, period_from="2026-03", period_to="2026-03")
    assert {(p.employee_id, p.amount) for p in rows} == {
        (None, Decimal("2000000.00")),
        (people.manager_id, Decimal("1200.00")),
    }
    html = (await office_manager.get("/office/analytics/plan?period=2026-03")).text
    assert 'id="plan-form"' not in html  # a manager reads, does not edit
    assert f'data-employee-id="{people.manager_id}"' in html
    assert f'data-employee-id="{people.other_manager_id}"' not in html
    assert "50,0 %" in html or "50.0 %" in html  # 600 of 1200
    r = await office_manager.post_form(
        "/office/analytics/plan", {"period": "2026-03", f"plan_e{people.manager_id}": "1"}
    )
    assert r.status_code == 403
    r = await office.post("/office/analytics/plan", data={"period": "2026-03"})
    assert r.status_code == 403  # no CSRF token
    for data in (
        {"period": "2026-13"},
        {"period": "2026-03", "plan_firm": "-5"},
        {"period": "2026-03", "plan_firm": "lots"},
        {"period": "2026-03", "plan_firm": "1e400"},
    ):
        r = await office.post_form("/office/analytics/plan", data)
        assert r.status_code == 422, data
    assert (await office.get("/office/analytics/plan?period=garbage")).status_code == 200


async def test_funnel_period_presets(office):
    year = (await office.get("/office/analytics/funnel?period=year")).text
    assert 'name="from" value="2026-01-01"' in year and 'name="to" value="2026-12-31"' in year
    quarter = (await office.get("/office/analytics/funnel?period=quarter")).text
    assert 'name="from" value="2026-01-01"' in quarter and 'value="2026-03-31"' in quarter
