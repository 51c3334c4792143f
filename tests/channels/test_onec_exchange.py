"""``/exchange/1c`` driven as 1C drives it, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from channels.onec import onec_router
from channels.onec_files import OnecConfig
from crm_core.models import ExchangeLog, PriceKind, Product, ProductGroup
from tests.channels.onec_client import FakeOneC, fixture
from tests.channels.test_commerceml_reader import BILLION_LAUGHS, XXE

LOGIN, PASSWORD = "1c-site", "exchange-secret"
NESTED = "import0_1_with_nested_groups.xml"


@pytest.fixture
async def enabled(api):
    body = {"login": LOGIN, "password": PASSWORD, "enabled": True}
    response = await api.put("/exchange-1c", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"login": LOGIN, "enabled": True, "password_set": True}


@pytest.fixture
async def onec(enabled, runtime, tmp_path):
    """A small file_limit and step, so chunks and ``progress`` really happen."""
    config = OnecConfig(
        secret_key="k", data_dir=str(tmp_path / "exchange"), file_limit=100_000, step=100
    )
    app = FastAPI()
    app.include_router(onec_router(runtime.sessions, config, clock=runtime.clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield FakeOneC(c, LOGIN, PASSWORD)


def two_price_offers() -> bytes:
    """offers0_1.xml with a second price type, as windows-1251 (as older 1C sends)."""
    text = (
        fixture("offers0_1.xml")
        .decode("utf-8-sig")
        .replace('encoding="UTF-8"', 'encoding="windows-1251"')
    )
    retail = (
        "<ТипЦены><Ид>t-retail</Ид><Наименование>Розничная</Наименование>"
        "<Валюта>RUB</Валюта></ТипЦены>"
    )
    text = text.replace("<ТипыЦен>", "<ТипыЦен>" + retail, 1)
    text = text.replace(
        "<Цены>",
        "<Цены><Цена><ИдТипаЦены>t-retail</ИдТипаЦены><ЦенаЗаЕдиницу>150,50</ЦенаЗаЕдиницу></Цена>",
    )
    return text.encode("cp1251")


async def catalog_state(uow):
    async with uow() as s:
        products = list(await s.scalars(select(Product).options(selectinload(Product.prices))))
        groups = list(await s.scalars(select(ProductGroup)))
        kinds = {k.external_id: k for k in await s.scalars(select(PriceKind))}
    return products, groups, kinds


@pytest.mark.parametrize("zipped", [False, True], ids=["plain", "zip"])
async def test_full_catalog_exchange_is_idempotent(onec, uow, zipped):
    files = {NESTED: fixture(NESTED), "offers0_1.xml": two_price_offers()}
    answers = await onec.send(files, zipped=zipped)
    assert answers[-1] == "success\n"
    assert any(a.startswith("progress") for a in answers)  # 283 products in steps of 100
    products, groups, kinds = await catalog_state(uow)
    assert len(products) == 283 and len(groups) == 13
    by_ext = {g.external_id: g for g in groups}
    child = by_ext["82cfb8dc-18f9-11e7-80c2-0cc47ab29cd1"]
    assert child.parent_id == by_ext["94878333-8068-11ea-80c9-0cc47ab29cd1"].id
    mat = next(p for p in products if p.external_id == "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1")
    assert mat.sku == "PM-421-WP" and mat.group_id == child.id and mat.stock == Decimal(377)
    prices = {p.price_kind_id: p.price for p in mat.prices}
    assert kinds["t-retail"].code == "retail"  # 1C's "Розничная" is Firma's seeded kind
    assert prices == {
        kinds["t-retail"].id: Decimal("150.50"),
        kinds["279b6812-740b-11e8-80c8-0cc47ab29cd1"].id: Decimal(100),
    }

    # 1C sends the same catalog again (a changed name): updated, nothing doubled.
    files[NESTED] = files[NESTED].replace("Детские товары".encode(), "Детям".encode())
    assert (await onec.send(files, zipped=zipped))[-1] == "success\n"
    again, groups_again, kinds_again = await catalog_state(uow)
    assert len(again) == 283 and len(groups_again) == 13 and len(kinds_again) == len(kinds)
    assert any(g.name == "Детям" for g in groups_again)
    async with uow() as s:
        logs = list(await s.scalars(select(ExchangeLog).order_by(ExchangeLog.id)))
    assert {(e.filename, e.status) for e in logs} == {
        (NESTED, "success"),
        ("offers0_1.xml", "success"),
    }
    assert logs[0].counts["products_created"] == 283


async def test_small_catalog_through_the_mounted_endpoint(
    enabled, client, uow, api, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the default data dir ./data/exchange lands in tmp
    onec = FakeOneC(client, LOGIN, PASSWORD)
    files = {"import0_1.xml": fixture("import0_1.xml"), "offers0_1.xml": fixture("offers0_1.xml")}
    assert await onec.send(files) == ["success\n", "success\n"]
    assert (tmp_path / "data" / "exchange").is_dir()
    products, _, _ = await catalog_state(uow)
    assert len(products) == 36 and all(p.prices for p in products)
    log = (await api.get("/exchanges")).json()
    assert log["total"] == 2 and log["items"][0]["status"] == "success"


async def test_wrong_password_is_401(enabled, client):
    onec = FakeOneC(client, LOGIN, "wrong-password")
    response = await onec.checkauth()
    assert response.status_code == 401 and response.text.startswith("failure")
    forged = await client.get(
        "/exchange/1c", params={"mode": "init"}, headers={"Cookie": "firma_1c=a.1.b"}
    )
    assert forged.status_code == 401


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
async def test_hostile_xml_fails_and_imports_nothing(onec, uow, payload):
    answers = await onec.send({"import_evil.xml": payload})
    assert answers[-1].startswith("failure\n")
    products, groups, _ = await catalog_state(uow)
    assert products == [] and groups == []
    async with uow() as s:
        assert await s.scalar(select(func.count()).where(ExchangeLog.status == "failure")) == 1


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/passwd", "a/../../b.xml", "C:\\x.xml"])
async def test_path_traversal_is_refused(onec, tmp_path, name):
    await onec.checkauth()
    await onec.init()
    response = await onec.call("file", method="POST", content=b"x", filename=name)
    assert response.status_code == 400 and response.text.startswith("failure")
    response = await onec.call("import", filename=name)
    assert response.text.startswith("failure")
    assert not (tmp_path / "evil.xml").exists()
