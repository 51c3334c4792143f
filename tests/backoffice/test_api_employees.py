"""REST: /employees."""

from __future__ import annotations

import httpx

from crm_core.employees.tokens import create_api_token
from tests.factories.activity import make_employee


async def test_create_get_patch_list(api, uow):
    r = await api.post(
        "/employees",
        json={"name": "Olga", "email": "Olga@Firma-Activity.ru", "password": "secret-pass"},
    )
    assert r.status_code == 201, r.text
    emp = r.json()
    assert emp["email"] == "olga@firma-activity.ru" and emp["role"] == "manager"
    assert emp["telegram_bound"] is False and emp["active"] is True
    assert emp["calendar_url"].startswith("http")
    assert emp["calendar_url"].endswith(".ics") and "/calendar/" in emp["calendar_url"]
    assert "password_hash" not in emp and "calendar_token" not in emp
    assert (await api.get(f"/employees/{emp['id']}")).json() == emp
    async with uow() as s:
        from crm_core.employees.service import get_employee

        (await get_employee(s, emp["id"])).telegram_user_id = 4242
    r = await api.patch(f"/employees/{emp['id']}", json={"agenda_hour": 8, "role": "admin"})
    assert r.status_code == 200
    assert (r.json()["agenda_hour"], r.json()["role"], r.json()["telegram_bound"]) == (
        8,
        "admin",
        True,
    )
    page = (await api.get("/employees")).json()
    assert page["total"] == 1 and page["items"][0]["id"] == emp["id"]
    r = await api.post("/employees", json={"name": "Again", "email": "olga@firma-activity.ru"})
    assert r.status_code == 409


async def test_bad_input_and_not_found(api):
    assert (await api.get("/employees/999999")).status_code == 404
    assert (await api.patch("/employees/999999", json={"name": "x"})).status_code == 404
    for body in (
        {"name": "x", "email": "not-an-email"},
        {"name": "x", "email": "x@firma-activity.ru", "role": "owner"},
        {"name": "x", "email": "x@firma-activity.ru", "timezone": "Mars/Base"},
        {"name": "x", "email": "x@firma-activity.ru", "shoe_size": 42},
        {"name": "", "email": "x@firma-activity.ru"},
    ):
        assert (await api.post("/employees", json=body)).status_code == 422, body


async def test_a_managers_token_may_read_but_not_manage(app, uow):
    async with uow() as s:
        manager = await make_employee(s)
        token = (await create_api_token(s, name="manager", employee_id=manager.id)).token
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        assert (await client.get(f"/employees/{manager.id}")).status_code == 200
        r = await client.post("/employees", json={"name": "x", "email": "y@firma-activity.ru"})
        assert r.status_code == 403
        r = await client.patch(f"/employees/{manager.id}", json={"role": "admin"})
        assert r.status_code == 403
