"""REST: /analytics/funnel, /analytics/sales-plan and /sales-plans."""

from __future__ import annotations

from tests.crm_core.analytics.dataset import build
from tests.crm_core.analytics.dataset_groups import build_groups
from tests.factories.activity import make_employee


async def test_funnel(api, uow):
    async with uow() as s:
        await build(s)
    r = await api.get(
        "/analytics/funnel", params={"date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["count"] == 5 and f["amount"] == "1500.00"
    new = f["states"][0]
    assert (new["code"], new["name"], new["category"], new["count"], new["amount"]) == (
        "new",
        "Новый",
        "open",
        1,
        "100.00",
    )
    assert f["states"][1]["conversion"] == 75.0
    assert f["by_category"]["completed"] == {"count": 2, "amount": "800.00"}
    assert [(c["stage"], c["count"], c["percent"]) for c in f["conversion"]] == [
        ("leads", 5, None),
        ("converted", 4, 80.0),
        ("ordered", 2, 50.0),
        ("paid", 1, 50.0),
    ]
    # default: the current month in Moscow (the clock says 2 March 2026)
    assert (await api.get("/analytics/funnel")).json()["count"] == 5


async def test_funnel_bad_input(api):
    r = await api.get(
        "/analytics/funnel", params={"date_from": "2026-03-31", "date_to": "2026-03-01"}
    )
    assert r.status_code == 422
    r = await api.get("/analytics/funnel", params={"date_from": "yesterday"})
    assert r.status_code == 422
    r = await api.get("/analytics/funnel", params={"kind_id": 999999})
    assert r.status_code == 422


async def test_plan_vs_actual(api, uow):
    async with uow() as s:
        data = await build(s)
    r = await api.get("/analytics/sales-plan", params={"period": "2026-03"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["period_from"] == report["period_to"] == "2026-03"
    anna = report["rows"][0]
    assert anna == {
        "employee_id": data.anna.id,
        "employee_name": "Anna",
        "plan": "1000.00",
        "actual": "1199.00",
        "paid": "270.00",
        "orders": 2,
        "percent": 119.9,
        "paid_percent": 27.0,
    }
    assert report["total"]["plan"] == "5000.00" and report["total"]["percent"] == 42.0
    r = await api.get(
        "/analytics/sales-plan",
        params={"period": "2026-03", "period_to": "2026-04", "by_month": "true"},
    )
    assert [m["period_from"] for m in r.json()["months"]] == ["2026-03", "2026-04"]
    for bad in ("2026-13", "2026-3", "march"):
        assert (await api.get("/analytics/sales-plan", params={"period": bad})).status_code == 422


async def test_sales_plans(api, uow):
    async with uow() as s:
        emp = await make_employee(s)
    r = await api.put(
        "/sales-plans",
        json={
            "items": [
                {"period": "2026-03", "employee_id": emp.id, "amount": "1500.50"},
                {"period": "2026-03", "amount": 10000},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert [(p["period"], p["amount"]) for p in r.json()["items"]] == [
        ("2026-03", "1500.50"),
        ("2026-03", "10000.00"),
    ]
    r = await api.put(
        "/sales-plans",
        json={"items": [{"period": "2026-03", "employee_id": emp.id, "amount": "2000"}]},
    )
    assert r.json()["items"][0]["amount"] == "2000.00"
    page = (await api.get("/sales-plans", params={"period": "2026-03"})).json()
    assert page["total"] == 2 and page["items"][0]["employee_id"] == emp.id
    assert (await api.get("/sales-plans", params={"period": "2026-04"})).json()["total"] == 0
    r = await api.put(
        "/sales-plans",
        json={"items": [{"period": "2026-03", "employee_id": emp.id, "amount": None}]},
    )
    assert r.json() == {"items": [], "total": 0}
    firm_id = (await api.get("/sales-plans")).json()["items"][0]["id"]
    assert (await api.delete(f"/sales-plans/{firm_id}")).status_code == 204
    assert (await api.delete(f"/sales-plans/{firm_id}")).status_code == 404
    for bad in (
        {"items": [{"period": "2026-03", "amount": "-1"}]},
        {"items": [{"period": "2026-03-01", "amount": "1"}]},
        {"items": [{"period": "2026-03", "amount": "1", "extra": 1}]},
        {"items": [{"period": "2026-03", "employee_id": 999999, "amount": "1"}]},
        {"items": []},
    ):
        assert (await api.put("/sales-plans", json=bad)).status_code == 422, bad


async def test_plan_vs_actual_by_group(api, uow):
    async with uow() as s:
        g = await build_groups(s)
    r = await api.get("/analytics/sales-plan", params={"period": "2026-03", "by": "group"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["period_from"] == report["period_to"] == "2026-03"
    assert report["rows"][1] == {
        "group_id": g.tools.id,
        "group_name": "Tools",
        "parent_id": g.goods.id,
        "depth": 1,
        "plan": "250.00",
        "actual": "380.00",
        "orders": 3,
        "percent": 152.0,
    }
    assert [(row["group_name"], row["actual"]) for row in report["rows"]] == [
        ("Goods", "480.00"),
        ("Tools", "380.00"),
        ("Drills", "300.00"),
        ("Services", "51.00"),
        ("Install", "0.00"),
        ("", "13.00"),
    ]
    assert (report["total"]["plan"], report["total"]["actual"]) == ("1070.00", "544.00")
    r = await api.get(
        "/analytics/sales-plan",
        params={"period": "2026-03", "by": "group", "employee_id": g.anna.id},
    )
    assert r.json()["total"]["actual"] == "125.00" and r.json()["employee_id"] == g.anna.id
    r = await api.get(
        "/analytics/sales-plan",
        params={"period": "2026-03", "period_to": "2026-04", "by": "group", "by_month": "true"},
    )
    assert [m["total"]["plan"] for m in r.json()["months"]] == ["1070.00", "400.00"]
    # The default stays per employee.
    rows = (await api.get("/analytics/sales-plan", params={"period": "2026-03"})).json()["rows"]
    assert {row["employee_name"] for row in rows} == {"Anna", "Boris", ""}
    r = await api.get("/analytics/sales-plan", params={"period": "2026-03", "by": "product"})
    assert r.status_code == 422
