"""``GET /feeds/yml/{token}.xml``: the catalog as YML, parsed back with lxml."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from crm_core.catalog.groups import create_group
from crm_core.invoices.firm import FIRM_KEY
from crm_core.models import FirmSetting
from tests.factories.commerce import make_product


@pytest.fixture
async def feed_url(api) -> str:
    r = await api.post("/feeds/yml/token")
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith("http://127.0.0.1:8000/feeds/yml/") and url.endswith(".xml")
    return url.split("127.0.0.1:8000", 1)[1]


@pytest.fixture
async def shelf(uow) -> dict:
    async with uow() as s:
        s.add(FirmSetting(key=FIRM_KEY, value={"name": 'ООО "Уют & Ко" <дом>'}))
        furniture = await create_group(s, name="Мебель")
        chairs = await create_group(s, name="Стулья & табуреты", parent_id=furniture.id)
        chair = await make_product(
            s,
            sku="CH<1>",
            name='Стул "Венский" & co',
            group_id=chairs.id,
            description="Бук,\x01 лак <b>тёмный</b>\x0b",
            image_url="https://cdn.example.ru/ch1.jpg?a=1&b=2",
            stock=Decimal(4),
            price="2500.50",
        )
        gone = await make_product(s, sku="OUT-1", name="Нет в наличии", stock=0, price="10")
        service = await make_product(s, sku="SRV-1", name="Сборка", kind="service", price="500")
        await make_product(s, sku="NOPRICE", name="Без цены", price=None)
        await make_product(s, sku="OFF-1", name="Снят", active=False, price="1")
    return {
        "chair": chair.id,
        "gone": gone.id,
        "service": service.id,
        "chairs": chairs.id,
        "furniture": furniture.id,
    }


async def test_feed_is_valid_yml_with_every_offer(client, feed_url, shelf):
    r = await client.get(feed_url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(r.content)
    assert root.tag == "yml_catalog" and root.get("date") == "2026-03-02T10:00+03:00"
    shop = root.find("shop")
    assert shop.findtext("company") == 'ООО "Уют & Ко" <дом>'
    assert shop.find("currencies/currency").attrib == {"id": "RUB", "rate": "1"}
    categories = {
        c.get("id"): (c.text, c.get("parentId")) for c in shop.iterfind("categories/category")
    }
    assert categories[str(shelf["chairs"])] == ("Стулья & табуреты", str(shelf["furniture"]))
    assert categories[str(shelf["furniture"])] == ("Мебель", None)
    offers = {o.get("id"): o for o in shop.iterfind("offers/offer")}
    assert set(offers) == {str(shelf["chair"]), str(shelf["gone"]), str(shelf["service"])}
    chair = offers[str(shelf["chair"])]
    assert chair.get("available") == "true"
    assert chair.findtext("name") == 'Стул "Венский" & co'
    assert chair.findtext("price") == "2500.50"
    assert chair.findtext("currencyId") == "RUB"
    assert chair.findtext("categoryId") == str(shelf["chairs"])
    assert chair.findtext("vendorCode") == "CH<1>"
    assert chair.findtext("description") == "Бук, лак <b>тёмный</b>"  # control chars dropped
    assert chair.findtext("picture") == "https://cdn.example.ru/ch1.jpg?a=1&b=2"
    assert chair.findtext("count") == "4"
    assert chair.find("url") is None  # no FIRMA_YML_PRODUCT_URL
    assert offers[str(shelf["gone"])].get("available") == "false"
    service = offers[str(shelf["service"])]
    assert service.get("available") == "true" and service.find("count") is None


async def test_product_url_template(runtime, api, shelf):
    import httpx

    from firma.app import create_app

    runtime.settings.yml_product_url = "https://shop.example.ru/p/{sku}"
    app = create_app(runtime)
    token_url = (await api.post("/feeds/yml/token")).json()["url"].split(":8000", 1)[1]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        root = etree.fromstring((await c.get(token_url)).content)
    urls = {o.findtext("vendorCode"): o.findtext("url") for o in root.iter("offer")}
    assert urls["SRV-1"] == "https://shop.example.ru/p/SRV-1"


async def test_token_is_secret_and_rotatable(client, api, feed_url, shelf):
    assert (await client.get("/feeds/yml/wrong.xml")).status_code == 404
    assert (await client.get("/feeds/yml/" + "x" * 500 + ".xml")).status_code == 404
    assert (await api.get("/feeds/yml")).json()["enabled"] is True
    new = (await api.post("/feeds/yml/token")).json()["url"].split(":8000", 1)[1]
    assert (await client.get(feed_url)).status_code == 404
    assert (await client.get(new)).status_code == 200
    assert (await api.delete("/feeds/yml/token")).json()["enabled"] is False
    assert (await client.get(new)).status_code == 404


async def test_no_token_no_feed(client):
    assert (await client.get("/feeds/yml/anything.xml")).status_code == 404


async def test_large_catalog_streams_in_batches(client, feed_url, uow):
    from crm_core.catalog_feed import service

    async with uow() as s:
        for i in range(2500):
            await make_product(s, sku=f"BULK-{i}", name=f"Товар {i}", price="1.00", stock=1)
    r = await client.get(feed_url)
    root = etree.fromstring(r.content)
    offers = root.findall("shop/offers/offer")
    assert len(offers) == 2500
    assert [int(o.get("id")) for o in offers] == sorted(int(o.get("id")) for o in offers)
    assert service.BATCH < 2500  # several batches were written
