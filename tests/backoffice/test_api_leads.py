"""``/api/v1/leads``, ``/lead-states``, ``/hide-reasons`` as clients use them."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import func, select

from crm_core.models import Customer, OutboxEvent


async def _create(api, **body):
    body.setdefault("name", "Иван")
    resp = await api.post("/leads", json=body)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


async def test_create_get_list_patch(api):
    resp = await api.post(
        "/leads",
        json={
            "name": "Иван",
            "phone": "8 (916) 123-45-67",
            "email": "Ivan@Example.com",
            "company": "ООО Ромашка",
            "source": "manual",
            "utm_source": "yandex",
            "state": "in_work",
        },
    )
    assert resp.status_code == 201, resp.text
    lead = resp.json()
    assert lead["phone"] == "+79161234567" and lead["phones"] == ["+79161234567"]
    assert lead["email"] == "ivan@example.com" and lead["emails"] == ["ivan@example.com"]
    assert lead["state"]["code"] == "in_work" and lead["result"] == "open"
    assert (
        lead["customer_id"] is None
        and datetime.fromisoformat(lead["created_at"]).utcoffset() is not None
    )
    got = (await api.get(f"/leads/{lead['id']}")).json()
    assert got == lead

    listed = (await api.get("/leads", params={"q": "+7 916 123 45 67"})).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == lead["id"]
    assert (await api.get("/leads", params={"state": "new"})).json()["total"] == 0

    resp = await api.patch(f"/leads/{lead['id']}", json={"comment": "Перезвонить", "state": "new"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["comment"] == "Перезвонить" and resp.json()["state"]["code"] == "new"
    assert resp.json()["name"] == "Иван"  # untouched


async def test_same_contact_again_is_merged(api):
    first = await _create(api, phone="+79160000001")
    resp = await api.post("/leads", json={"name": "Иван", "phone": "8 916 000-00-01"})
    assert resp.status_code == 200
    assert resp.json()["id"] == first["id"] and resp.json()["merged"] is True
    events = (await api.get(f"/leads/{first['id']}/events")).json()
    assert events["total"] == 1 and events["items"][0]["direction"] == "incoming"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"name": "x" * 201}, "name"),
        ({"comment": "x" * 20000}, "comment"),
        ({"state": "nowhere"}, "state"),
        ({"responsible_id": 10**12}, "responsible_id"),
        ({"responsible_id": 999_999}, "responsible_id"),
        ({"phones": "+79160000000"}, "phones"),
        ({"source": "fax"}, "source"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api, body, field):
    body.setdefault("name", "Иван")
    resp = await api.post("/leads", json=body)
    assert resp.status_code == 422, resp.text
    data = resp.json()
    assert isinstance(data["detail"], str) and data["detail"]
    assert data.get("field") == field or field in data.get("errors", {})


@pytest.mark.parametrize(
    "path",
    [
        "/leads?limit=-1",
        "/leads?limit=100000",
        "/leads?offset=-5",
        "/leads?result=maybe",
        "/leads?created_from=yesterday",
        "/leads?created_from=2026-01-01T00:00:00",  # no offset: ambiguous
        f"/leads?q={'x' * 1000}",
        "/leads/abc",
        "/leads/99999999999999999999",
    ],
)
async def test_bad_query_is_422_not_500(api, path):
    assert (await api.get(path)).status_code == 422


async def test_unknown_lead_is_404(api):
    for resp in (
        await api.get("/leads/424242"),
        await api.patch("/leads/424242", json={"name": "x"}),
        await api.post("/leads/424242/convert", json={"create_order": False}),
        await api.post("/leads/424242/hide", json={"reason": "spam"}),
        await api.get("/leads/424242/history"),
    ):
        assert resp.status_code == 404, resp.text
        assert "424242" in resp.json()["detail"]


async def test_convert_once_then_conflict(api):
    lead = await _create(api, phone="+79160000002", email="buyer@example.com")
    resp = await api.post(f"/leads/{lead['id']}/convert", json={"create_order": False})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["order_id"] is None and body["customer_id"]
    customer = (await api.get(f"/customers/{body['customer_id']}")).json()
    assert customer["phone"] == "+79160000002" and customer["email"] == "buyer@example.com"
    again = await api.post(f"/leads/{lead['id']}/convert", json={"create_order": False})
    assert again.status_code == 409
    assert (await api.get(f"/leads/{lead['id']}")).json()["result"] == "converted"


async def test_concurrent_converts_one_200_one_409(api, sessions):
    lead = await _create(api, phone="+79160000003")
    url = f"/leads/{lead['id']}/convert"
    responses = await asyncio.gather(
        api.post(url, json={"create_order": False}), api.post(url, json={"create_order": False})
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    async with sessions() as s:
        assert await s.scalar(select(func.count(Customer.id))) == 1
        converted = select(func.count(OutboxEvent.id)).where(OutboxEvent.topic == "lead.converted")
        assert await s.scalar(converted) == 1


async def test_hide_with_unknown_reason_is_422_and_known_one_hides(api):
    lead = await _create(api)
    resp = await api.post(f"/leads/{lead['id']}/hide", json={"reason": "because"})
    assert resp.status_code == 422 and resp.json()["field"] == "reason"
    reasons = (await api.get("/hide-reasons")).json()["items"]
    resp = await api.post(f"/leads/{lead['id']}/hide", json={"reason": reasons[0]["code"]})
    assert resp.status_code == 200 and resp.json()["result"] == "hidden"
    assert (await api.get("/leads")).json()["total"] == 0
    assert (await api.get("/leads", params={"result": "hidden"})).json()["total"] == 1
    resp = await api.post(f"/leads/{lead['id']}/reopen")
    assert resp.status_code == 200 and resp.json()["result"] == "open"


async def test_history_after_patch(api):
    lead = await _create(api, name="Старое имя")
    await api.patch(f"/leads/{lead['id']}", json={"name": "Новое имя"})
    history = (await api.get(f"/leads/{lead['id']}/history")).json()
    assert history["total"] == 2
    change = history["items"][-1]
    assert change["action"] == "updated" and change["actor_kind"] == "api_token"
    assert change["actor_label"] == "API token tests"
    assert change["changes"]["name"] == ["Старое имя", "Новое имя"]


async def test_lead_states_crud_and_order(api):
    states = (await api.get("/lead-states")).json()["items"]
    assert [s["code"] for s in states] == ["new", "in_work"]
    resp = await api.post("/lead-states", json={"code": "meeting", "name": "Встреча"})
    assert resp.status_code == 201
    meeting = resp.json()
    assert (
        await api.post("/lead-states", json={"code": "meeting", "name": "x"})
    ).status_code == 409
    order = [meeting["id"], states[1]["id"], states[0]["id"]]
    resp = await api.put("/lead-states/order", json={"ids": order})
    assert resp.status_code == 200 and [s["id"] for s in resp.json()["items"]] == order
    assert (await api.put("/lead-states/order", json={"ids": order[:1]})).status_code == 422
    resp = await api.patch(f"/lead-states/{meeting['id']}", json={"name": "Встреча назначена"})
    assert resp.json()["name"] == "Встреча назначена"
    await _create(api, state="meeting")
    resp = await api.patch(f"/lead-states/{meeting['id']}", json={"active": False})
    assert resp.status_code == 409
    assert (await api.patch("/lead-states/424242", json={"name": "x"})).status_code == 404
    assert (await api.patch(f"/lead-states/{meeting['id']}", json={"name": ""})).status_code == 422
