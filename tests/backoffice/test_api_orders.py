"""Orders over REST: create, read, state, payments, shipments, journal, kinds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.commerce import make_buyer, make_product


@pytest.fixture
async def catalog(uow):
    async with uow() as s:
        buyer = await make_buyer(s)
        table = await make_product(s, price="1200.00", vat_rate=20, stock=5)
        return {"customer_id": buyer.id, "product_id": table.id}


async def _create(api, catalog, **extra):
    body = {
        "customer_id": catalog["customer_id"],
        "lines": [
            {"product_id": catalog["product_id"], "quantity": 2},
            {"name": "Доставка", "quantity": "1", "price": "500", "discount_percent": 10},
        ],
        **extra,
    }
    r = await api.post("/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_pay_ship_and_read(api, catalog):
    order = await _create(api, catalog)
    assert order["number"].startswith("ЗК-2026-")
    assert (order["total"], order["vat_amount"]) == ("2850.00", "400.00")
    assert order["state"]["name"] == "Новый" and order["state"]["category"] == "open"
    assert order["indicator"] == "on_time" and order["paid_percent"] == 0
    assert [x["amount"] for x in order["lines"]] == ["2400.00", "450.00"]
    assert order["lines"][0]["quantity"] == "2" and order["lines"][0]["price"] == "1200.00"

    r = await api.post(
        f"/orders/{order['id']}/payments",
        json={"amount": "1425.00", "method": "card", "external_id": "pay-1"},
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        f"/orders/{order['id']}/payments",
        json={"amount": "1425.00", "method": "card", "external_id": "pay-1"},
    )
    assert r.status_code == 200  # already recorded: the same payment, nothing doubled
    r = await api.get(f"/orders/{order['id']}")
    assert r.json()["paid_percent"] == 50 and r.json()["paid_amount"] == "1425.00"
    r = await api.get(f"/orders/{order['id']}/payments")
    assert r.json()["total"] == 1

    r = await api.post(f"/orders/{order['id']}/payments", json={"amount": 5000, "method": "cash"})
    assert r.status_code == 409 and "exceeds the 1425.00 left to pay" in r.json()["detail"]
    assert (await api.get(f"/orders/{order['id']}")).json()["paid_amount"] == "1425.00"

    line_id = order["lines"][0]["id"]
    r = await api.post(
        f"/orders/{order['id']}/shipments",
        json={"lines": [{"order_line_id": line_id, "quantity": 1}]},
    )
    assert r.status_code == 201 and r.json()["amount"] == "1200.00"
    r = await api.post(f"/orders/{order['id']}/shipments", json={})
    assert r.status_code == 201
    r = await api.get(f"/orders/{order['id']}")
    assert r.json()["shipped_percent"] == 100
    r = await api.get(f"/products/{catalog['product_id']}")
    assert r.json()["stock"] == "3"

    r = await api.get(f"/orders/{order['id']}/history")
    assert r.status_code == 200 and r.json()["total"] >= 1


async def test_state_changes(api, catalog):
    order = await _create(api, catalog)
    r = await api.post(f"/orders/{order['id']}/state", json={"state": "in_work"})
    assert r.status_code == 200 and r.json()["state"]["name"] == "В работе"

    r = await api.post("/order-kinds", json={"code": "repair", "name": "Ремонт"})
    assert r.status_code == 201
    foreign = r.json()["states"][0]["id"]
    r = await api.post(f"/orders/{order['id']}/state", json={"state_id": foreign})
    assert r.status_code == 422
    r = await api.post(f"/orders/{order['id']}/state", json={})
    assert r.status_code == 422

    await api.post(f"/orders/{order['id']}/payments", json={"amount": 1, "method": "cash"})
    r = await api.post(f"/orders/{order['id']}/state", json={"state": "cancelled"})
    assert r.status_code == 409

    other = await _create(api, catalog)
    r = await api.post(f"/orders/{other['id']}/state", json={"state": "cancelled"})
    assert r.json()["indicator"] == "cancelled" and r.json()["state"]["category"] == "cancelled"
    r = await api.post(f"/orders/{other['id']}/payments", json={"amount": 1, "method": "cash"})
    assert r.status_code == 409
    r = await api.post(f"/orders/{other['id']}/shipments", json={})
    assert r.status_code == 409


@pytest.mark.parametrize(
    "line",
    [
        {"quantity": 0},
        {"quantity": "NaN"},
        {"quantity": "Infinity"},
        {"quantity": 1, "price": "10.001"},
        {"quantity": 1, "price": -5},
        {"quantity": 1, "discount_percent": 150},
        {"quantity": 1, "colour": "red"},
    ],
)
async def test_bad_lines_are_422(api, catalog, line):
    line = {"product_id": catalog["product_id"], **line}
    r = await api.post("/orders", json={"customer_id": catalog["customer_id"], "lines": [line]})
    assert r.status_code == 422, r.text


async def test_journal_filters(api, catalog, clock):
    late = await _create(api, catalog, due_at=(clock.now() - timedelta(days=1)).isoformat())
    fresh = await _create(api, catalog)
    await api.post(f"/orders/{fresh['id']}/state", json={"state": "in_work"})

    r = await api.get("/orders", params={"limit": 50})
    body = r.json()
    assert [o["id"] for o in body["items"]] == [fresh["id"], late["id"]] and body["total"] == 2
    assert body["items"][0]["lines"] is None  # lines only in the single order
    r = await api.get("/orders", params={"indicator": "overdue"})
    assert [o["id"] for o in r.json()["items"]] == [late["id"]]
    r = await api.get("/orders", params={"state": "in_work"})
    assert [o["id"] for o in r.json()["items"]] == [fresh["id"]]
    state_id = r.json()["items"][0]["state"]["id"]
    r = await api.get("/orders", params={"state": str(state_id)})
    assert [o["id"] for o in r.json()["items"]] == [fresh["id"]]
    r = await api.get("/orders", params={"customer_id": catalog["customer_id"], "kind_id": 10**6})
    assert r.json()["total"] == 0
    r = await api.get("/orders", params={"date_from": "2026-03-02", "date_to": "2026-03-02"})
    assert r.json()["total"] == 2
    r = await api.get("/orders", params={"date_to": "2026-03-01"})
    assert r.json()["total"] == 0
    assert (await api.get("/orders", params={"indicator": "late"})).status_code == 422


async def test_patch_replaces_lines(api, catalog):
    order = await _create(api, catalog)
    r = await api.patch(
        f"/orders/{order['id']}",
        json={"lines": [{"name": "Работа", "quantity": 3, "price": 100}], "comment": "срочно"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == "300.00" and r.json()["comment"] == "срочно"
    assert len(r.json()["lines"]) == 1
    await api.post(f"/orders/{order['id']}/payments", json={"amount": 300, "method": "cash"})
    r = await api.patch(
        f"/orders/{order['id']}", json={"lines": [{"name": "Работа", "quantity": 1, "price": 100}]}
    )
    assert r.status_code == 409  # paid more than the new total


async def test_order_kinds_and_states(api):
    r = await api.get("/order-kinds")
    kind = r.json()["items"][0]
    assert kind["is_default"] and kind["states"][0]["code"] == "new"
    r = await api.post(
        f"/order-kinds/{kind['id']}/states", json={"name": "Согласование", "position": 1}
    )
    assert r.status_code == 201
    new_state = r.json()
    r = await api.get(f"/order-kinds/{kind['id']}")
    assert r.json()["states"][1]["id"] == new_state["id"]
    r = await api.patch(
        f"/order-kinds/{kind['id']}/states/{new_state['id']}", json={"name": "Согласование КП"}
    )
    assert r.json()["name"] == "Согласование КП"
    r = await api.delete(f"/order-kinds/{kind['id']}/states/{new_state['id']}")
    assert r.status_code == 204
    r = await api.patch(f"/order-kinds/{kind['id']}", json={"name": "Продажа"})
    assert r.json()["name"] == "Продажа"


async def test_refund_over_the_api(api, catalog):
    order = await _create(api, catalog)
    url = f"/orders/{order['id']}"
    await api.post(f"{url}/payments", json={"amount": "2850.00", "method": "card"})
    r = await api.post(f"{url}/refunds", json={"amount": "850.00", "external_id": "ret-1"})
    assert r.status_code == 201, r.text
    assert (r.json()["amount"], r.json()["method"]) == ("-850.00", "card")
    again = await api.post(f"{url}/refunds", json={"amount": "850.00", "external_id": "ret-1"})
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert (await api.get(url)).json()["paid_amount"] == "2000.00"
    r = await api.post(f"{url}/refunds", json={"amount": "2000.01"})
    assert r.status_code == 409 and "exceeds" in r.json()["detail"]
    for body in ({"amount": "0"}, {"amount": "-1"}, {"amount": "x"}, {}, {"amount": 1, "w": 1}):
        assert (await api.post(f"{url}/refunds", json=body)).status_code == 422, body
    assert (await api.post("/orders/999999/refunds", json={"amount": 1})).status_code == 404
    assert (await api.get(url)).json()["paid_amount"] == "2000.00"
