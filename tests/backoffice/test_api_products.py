"""The catalog over REST: /products, /product-groups, /price-kinds."""

from __future__ import annotations

import pytest


async def test_create_read_patch_list(api):
    r = await api.post(
        "/products",
        json={
            "sku": "T-1",
            "name": "Стол",
            "group": "Мебель",
            "vat_rate": 20,
            "stock": 4,
            "prices": {"retail": 1250, "wholesale": "1000.5"},
        },
    )
    assert r.status_code == 201, r.text
    product = r.json()
    assert product["prices"] == {"retail": "1250.00", "wholesale": "1000.50"}
    assert product["group"] == "Мебель" and product["stock"] == "4" and product["kind"] == "goods"

    r = await api.patch(f"/products/{product['id']}", json={"prices": {"retail": "1300"}})
    assert r.status_code == 200 and r.json()["prices"]["retail"] == "1300.00"
    r = await api.get(f"/products/{product['id']}")
    assert r.json()["name"] == "Стол"

    await api.post("/products", json={"name": "Монтаж", "kind": "service"})
    r = await api.get("/products", params={"q": "стол"})
    assert [p["sku"] for p in r.json()["items"]] == ["T-1"] and r.json()["total"] == 1
    r = await api.get("/products", params={"group": "Мебель"})
    assert r.json()["total"] == 1
    r = await api.get("/products", params={"kind": "service"})
    assert r.json()["items"][0]["stock"] is None  # services have no stock
    r = await api.get("/product-groups")
    assert [g["name"] for g in r.json()["items"]] == ["Мебель"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "prices": {"retail": "1.001"}},
        {"name": "X", "prices": {"retail": "NaN"}},
        {"name": "X", "prices": {"retail": -1}},
        {"name": "X", "prices": {"nope": 1}},
        {"name": "X", "vat_rate": 18},
        {"name": "X", "colour": "red"},
        {"name": "X", "kind": "service", "stock": 3},
    ],
)
async def test_bad_products_are_422(api, body):
    r = await api.post("/products", json=body)
    assert r.status_code == 422, r.text


async def test_duplicate_sku_is_409_and_unknown_is_404(api):
    assert (await api.post("/products", json={"name": "A", "sku": "S"})).status_code == 201
    assert (await api.post("/products", json={"name": "B", "sku": "S"})).status_code == 409
    assert (await api.get("/products/999999")).status_code == 404


async def test_price_kinds(api):
    r = await api.get("/price-kinds")
    assert [k["code"] for k in r.json()["items"]] == ["retail", "wholesale"]
    r = await api.post("/price-kinds", json={"code": "vip", "name": "VIP", "is_default": True})
    assert r.status_code == 201
    r = await api.get("/price-kinds")
    assert [k["code"] for k in r.json()["items"] if k["is_default"]] == ["vip"]
    assert (await api.post("/price-kinds", json={"code": "vip", "name": "X"})).status_code == 409
