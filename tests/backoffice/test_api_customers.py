"""``/api/v1/customers`` and its sub-resources as clients use them."""

from __future__ import annotations

from datetime import datetime

import pytest


async def _create(api, **body):
    body.setdefault("name", "Клиент")
    resp = await api.post("/customers", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_create_read_shape(api, clock):
    customer = await _create(
        api,
        name="ООО Ромашка",
        kind="company",
        legal_name="ООО «Ромашка»",
        inn="7707083893",
        phone="8 495 123-45-67",
        phones=["+7 916 000-11-22"],
        email="Office@Romashka.ru",
        telegram_id=123456789,
        tags=["vip"],
        consents={"email": True, "sms": False},
    )
    assert customer["phone"] == "+74951234567"
    assert customer["phones"] == ["+74951234567", "+79160001122"]
    assert customer["email"] == "office@romashka.ru" and customer["emails"] == [
        "office@romashka.ru"
    ]
    assert customer["telegram_id"] == 123456789 and customer["tags"] == ["vip"]
    assert customer["consents"]["email"]["granted"] is True
    assert customer["consents"]["sms"]["granted"] is False
    assert datetime.fromisoformat(customer["consents"]["email"]["at"]) == clock.now()
    assert customer["consents"]["email"]["source"] == "API token tests"
    assert customer["consents"]["telegram"] == {"granted": False, "at": None, "source": None}
    assert (await api.get(f"/customers/{customer['id']}")).json() == customer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inn": "7707083894"}, "inn"),
        ({"phone": "123"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"kind": "robot"}, "kind"),
        ({"consents": {"pigeon": True}}, "consents.pigeon"),
        ({"name": "x" * 1000}, "name"),
        ({"tags": ["x"] * 100}, "tags"),
        ({"telegram_id": -1}, "telegram_id"),
        ({"responsible_id": "me"}, "responsible_id"),
    ],
)
async def test_bad_input_is_422(api, body, field):
    body.setdefault("name", "Клиент")
    resp = await api.post("/customers", json=body)
    assert resp.status_code == 422, resp.text
    data = resp.json()
    errors = data.get("errors", {})
    assert data.get("field") == field or any(k.startswith(field) for k in errors), data


async def test_duplicate_inn_is_409(api):
    await _create(api, inn="500100732259")
    resp = await api.post("/customers", json={"name": "Другой", "inn": "500100732259"})
    assert resp.status_code == 409


async def test_patch_and_history(api):
    customer = await _create(api, name="Иван", phone="+79160000200", tags=["a"])
    resp = await api.patch(
        f"/customers/{customer['id']}",
        json={"name": "Иван Иванов", "email": "ivan@example.com", "consents": {"sms": True}},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "Иван Иванов" and body["phone"] == "+79160000200"
    assert body["email"] == "ivan@example.com" and body["tags"] == ["a"]
    assert body["consents"]["sms"]["granted"] is True
    history = (await api.get(f"/customers/{customer['id']}/history")).json()
    assert history["items"][-1]["changes"]["name"] == ["Иван", "Иван Иванов"]
    assert (await api.patch("/customers/424242", json={"name": "x"})).status_code == 404
    assert (await api.patch(f"/customers/{customer['id']}", json={"name": None})).status_code == 422


async def test_list_search_and_paging(api):
    ivan = await _create(api, name="Иванов", phone="+79161112233")
    petr = await _create(api, name="Петров", email="petr@example.com", tags=["vip"])

    async def ids(**params):
        body = (await api.get("/customers", params=params)).json()
        return [c["id"] for c in body["items"]], body["total"]

    assert await ids(q="8 (916) 111-22-33") == ([ivan["id"]], 1)
    assert await ids(q="PETR@example.com") == ([petr["id"]], 1)
    assert await ids(q="иванов") == ([ivan["id"]], 1)
    assert await ids(q="ива\x00нов") == ([ivan["id"]], 1)  # a NUL is dropped, never a 500
    orders = await api.get("/orders", params={"q": "\x00ЗК"})
    assert orders.status_code == 200 and orders.json()["total"] == 0
    assert await ids(tag="vip") == ([petr["id"]], 1)
    assert await ids(limit=1) == ([petr["id"]], 2)
    assert await ids(limit=1, offset=1) == ([ivan["id"]], 2)
    for bad in ({"limit": 0}, {"limit": 10**9}, {"offset": -1}, {"kind": "alien"}):
        assert (await api.get("/customers", params=bad)).status_code == 422


async def test_events_and_orders_of_a_customer(api):
    lead = (await api.post("/leads", json={"name": "Лид", "phone": "+79160000300"})).json()
    converted = await api.post(f"/leads/{lead['id']}/convert", json={"create_order": False})
    customer_id = converted.json()["customer_id"]
    again = await api.post("/leads", json={"name": "Лид", "phone": "+79160000300"})
    assert again.status_code == 409  # the phone is a customer's now: add it there
    events = await api.get(f"/customers/{customer_id}/events")
    assert events.status_code == 200 and events.json() == {"items": [], "total": 0}
    orders = await api.get(f"/customers/{customer_id}/orders")
    assert orders.status_code == 200 and orders.json() == {"items": [], "total": 0}
    assert (await api.get("/customers/424242/orders")).status_code == 404
    assert (await api.get("/customers/424242/events")).status_code == 404


async def test_contact_persons_and_points(api):
    customer = await _create(api, name="ООО Альфа", kind="company")
    url = f"/customers/{customer['id']}/contact-persons"
    resp = await api.post(
        url, json={"name": "Ольга", "position": "Бухгалтер", "phones": ["8 903 000 00 01"]}
    )
    assert resp.status_code == 201, resp.text
    person = resp.json()
    assert person["phones"] == ["+79030000001"]
    resp = await api.patch(f"{url}/{person['id']}", json={"emails": ["olga@alfa.ru"]})
    assert resp.json()["emails"] == ["olga@alfa.ru"] and resp.json()["phones"] == ["+79030000001"]
    listed = (await api.get(url)).json()
    assert listed["total"] == 1
    got = (await api.get(f"/customers/{customer['id']}")).json()
    assert got["phones"] == [] and got["contact_persons"][0]["name"] == "Ольга"

    points = f"/customers/{customer['id']}/contact-points"
    resp = await api.post(points, json={"kind": "email", "value": "Info@Alfa.ru"})
    assert resp.status_code == 201 and resp.json()["value"] == "info@alfa.ru"
    assert (await api.get(f"/customers/{customer['id']}")).json()["email"] == "info@alfa.ru"
    assert (await api.delete(f"{points}/{resp.json()['id']}")).status_code == 204
    assert (await api.delete(f"{points}/{resp.json()['id']}")).status_code == 404
    assert (await api.delete(f"{url}/{person['id']}")).status_code == 204
    assert (await api.get(url)).json()["total"] == 0
