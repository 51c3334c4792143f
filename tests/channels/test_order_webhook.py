"""``POST /channels/orders/{source}``: signed JSON orders from stores, idempotent by the
store's order id, customers de-duplicated by phone/email, lines matched by SKU."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from channels.webhooks import sign
from crm_core.models import Customer, Order, OutboxEvent
from tests.factories.commerce import make_product


@pytest.fixture
async def source(api) -> dict:
    r = await api.post("/order-webhooks", json={"code": "tilda", "name": "Сайт на Tilda"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def catalog(uow) -> None:
    async with uow() as s:
        await make_product(s, sku="CHAIR-1", name="Стул", price="2500.00")
        await make_product(s, sku="LAMP-7", name="Лампа", price="990.00")


def _order(external_id: str = "1001", **overrides) -> dict:
    body = {
        "id": external_id,
        "created_at": "2026-03-02T09:30:00+03:00",
        "customer": {
            "name": "Анна Петрова",
            "phone": "+7 (912) 345-67-89",
            "email": "anna@example.ru",
        },
        "lines": [
            {"sku": "CHAIR-1", "quantity": "2"},
            {"sku": "LAMP-7", "quantity": 1, "price": "900.00"},
        ],
        "delivery": {"address": "Москва, ул. Ленина, 1", "price": "300.00"},
        "comment": "Позвонить перед доставкой",
    }
    body.update(overrides)
    return body


async def _push(
    client, clock, secret: str, body, code: str = "tilda", *, stamp=None, signature=None
):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(clock.now().timestamp())) if stamp is None else stamp
    headers = {
        "Content-Type": "application/json",
        "X-Firma-Timestamp": stamp,
        "X-Firma-Signature": signature or sign(secret, stamp, raw),
    }
    return await client.post(f"/channels/orders/{code}", content=raw, headers=headers)


async def _count(sessions, model, *where) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def test_a_signed_order_is_created_once(client, api, clock, sessions, source, catalog):
    assert source["url"].endswith("/channels/orders/tilda") and len(source["secret"]) == 64
    r = await _push(client, clock, source["secret"], _order())
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "created" and made["total"] == "6200.00"  # 2×2500 + 900 + 300
    order = (await api.get(f"/orders/{made['order_id']}")).json()
    assert order["channel"] == "store"
    assert [(x["name"], x["quantity"], x["amount"]) for x in order["lines"]] == [
        ("Стул", "2", "5000.00"),
        ("Лампа", "1", "900.00"),
        ("Доставка", "1", "300.00"),
    ]
    customer = (await api.get(f"/customers/{made['customer_id']}")).json()
    assert customer["phones"] == ["+79123456789"] and customer["emails"] == ["anna@example.ru"]

    # A replay inside the window and a store's retry: the same order, answered 200.
    for _ in range(2):
        again = await _push(client, clock, source["secret"], _order())
        assert again.status_code == 200 and again.json()["order_id"] == made["order_id"]
    assert await _count(sessions, Order) == 1
    assert await _count(sessions, OutboxEvent, OutboxEvent.topic == "order.created") == 1


async def test_the_same_person_is_one_customer(client, clock, sessions, source, catalog):
    first = await _push(client, clock, source["secret"], _order("A-1"))
    second = await _push(
        client,
        clock,
        source["secret"],
        _order("A-2", customer={"name": "Аня", "phone": "8 912 345 67 89"}),
    )
    third = await _push(
        client,
        clock,
        source["secret"],
        _order("A-3", customer={"name": "A", "email": "ANNA@example.ru"}),
    )
    ids = {r.json()["customer_id"] for r in (first, second, third)}
    assert len(ids) == 1
    assert await _count(sessions, Customer) == 1
    assert await _count(sessions, Order) == 3


async def test_two_stores_may_share_an_order_number(client, api, clock, sessions, source, catalog):
    other = (await api.post("/order-webhooks", json={"code": "insales", "name": "InSales"})).json()
    assert (await _push(client, clock, source["secret"], _order("77"))).status_code == 201
    r = await _push(client, clock, other["secret"], _order("77"), code="insales")
    assert r.status_code == 201
    assert await _count(sessions, Order) == 2


async def test_concurrent_double_push_makes_one_order(client, clock, sessions, source, catalog):
    results = await asyncio.gather(
        *(_push(client, clock, source["secret"], _order("RACE-1")) for _ in range(3))
    )
    assert sorted(r.status_code for r in results) == [200, 200, 201]
    assert await _count(sessions, Order) == 1


async def test_signatures_timestamps_and_sources_are_checked(
    client, api, clock, sessions, source, catalog
):
    secret = source["secret"]
    body = _order()
    assert (await _push(client, clock, "0" * 64, body)).status_code == 401
    assert (await _push(client, clock, secret, body, signature="sha256=")).status_code == 401
    assert (await _push(client, clock, secret, body, stamp="")).status_code == 401
    stale = str(int((clock.now() - timedelta(minutes=10)).timestamp()))
    r = await _push(client, clock, secret, body, stamp=stale)
    assert r.status_code == 401 and "window" in r.json()["detail"]
    # The body changed after signing.
    raw = json.dumps(body).encode()
    stamp = str(int(clock.now().timestamp()))
    tampered = raw.replace(b'"2"', b'"20"')
    r = await client.post(
        "/channels/orders/tilda",
        content=tampered,
        headers={"X-Firma-Timestamp": stamp, "X-Firma-Signature": sign(secret, stamp, raw)},
    )
    assert r.status_code == 401
    assert (await _push(client, clock, secret, body, code="nosuch")).status_code == 404
    assert (await _push(client, clock, secret, body, code="../etc")).status_code == 404

    rotated = (
        await api.patch(f"/order-webhooks/{source['id']}", json={"rotate_secret": True})
    ).json()
    assert rotated["secret"] != secret
    assert (await _push(client, clock, secret, body)).status_code == 401
    await api.patch(f"/order-webhooks/{source['id']}", json={"enabled": False})
    assert (await _push(client, clock, rotated["secret"], body)).status_code == 404
    assert await _count(sessions, Order) == 0


async def test_unknown_skus_are_a_clear_422_per_line(client, clock, sessions, source, catalog):
    body = _order(
        lines=[
            {"sku": "CHAIR-1", "quantity": 1},
            {"sku": "NOPE", "quantity": 1},
            {"sku": "X<script>", "quantity": 2},
        ]
    )
    r = await _push(client, clock, source["secret"], body)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors == {"lines.1.sku": "Unknown SKU 'NOPE'", "lines.2.sku": "Unknown SKU 'X<script>'"}
    assert await _count(sessions, Order) == 0
    assert await _count(sessions, Customer) == 0  # nothing half-made


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (_order(lines=[]), "lines"),
        (_order(lines=[{"sku": "CHAIR-1", "quantity": "-1"}]), "lines.0.quantity"),
        (_order(customer={"name": "Без контактов"}), "customer.phone"),
        (_order(customer={"name": "X", "phone": "12"}), "customer.phone"),
        (_order(customer={"name": "X", "email": "not-an-email"}), "customer.email"),
        ({k: v for k, v in _order().items() if k != "id"}, "id"),
        (_order(created_at="2026-03-02T09:30:00"), "created_at"),
    ],
)
async def test_bad_bodies_are_422(client, clock, sessions, source, catalog, body, field):
    r = await _push(client, clock, source["secret"], body)
    assert r.status_code == 422, r.text
    if field != "body":
        assert field in r.json()["errors"], r.json()
    assert await _count(sessions, Order) == 0


async def test_huge_body_is_413(client, clock, source):
    raw = json.dumps(_order(comment="x" * (300 * 1024))).encode()
    r = await _push(client, clock, source["secret"], raw)
    assert r.status_code == 413


async def test_sources_are_for_admins_and_validated(api):
    assert (
        await api.post("/order-webhooks", json={"code": "Bad Code", "name": "x"})
    ).status_code == 422
    assert (await api.post("/order-webhooks", json={"code": "a", "name": "A"})).status_code == 201
    assert (await api.post("/order-webhooks", json={"code": "a", "name": "A"})).status_code == 409
    listed = (await api.get("/order-webhooks")).json()
    assert [s["code"] for s in listed] == ["a"]
