"""Firma as the business system for an online store: the CommerceML client run
against a fake Bitrix-like store on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from channels.onec import read_window
from channels.stores.client import ClientLimits
from channels.stores.runner import StoreExchangeRunner, StoreRunConfig
from crm_core.exchange.catalog_import import import_catalog_step
from crm_core.exchange.records import OfferRecord, PriceTypeRecord, ProductRecord
from crm_core.models import Customer, ExchangeLog, Order, Product, Store, StoreOrder
from crm_core.orders.service import change_order_state
from tests.channels.fake_store import FakeStore
from tests.channels.onec_client import FIXTURES
from tests.factories.commerce import state_of

SECRET = "dev-secret-change-me"  # the API app in tests runs with the default key


@pytest.fixture
async def store():
    fake = await FakeStore().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def catalog(uow):
    """The real 1C export imported, so there is a catalog to send."""
    for name in ("import0_1.xml", "offers0_1.xml"):
        records, count, _ = read_window(FIXTURES / name, 0, 10_000, "/exchange/media/")
        async with uow() as s:
            await import_catalog_step(s, records, position=0, step=count + 1)


async def add_store(api, fake: FakeStore, **overrides) -> dict:
    body = {
        "name": "Магазин",
        "exchange_url": fake.url,
        "login": fake.login,
        "password": fake.password,
        "schedule": 30,
        **overrides,
    }
    response = await api.post("/stores", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def runner(sessions, clock, tmp_path, **limits) -> StoreExchangeRunner:
    config = StoreRunConfig(
        secret_key=SECRET,
        work_dir=str(tmp_path / "stores"),
        limits=ClientLimits(**{"timeout_s": 5.0, **limits}),
    )
    return StoreExchangeRunner(sessions, config, clock=clock)


async def last_run(uow) -> ExchangeLog:
    async with uow() as s:
        return await s.scalar(
            select(ExchangeLog).where(ExchangeLog.peer == "store").order_by(ExchangeLog.id.desc())
        )


async def test_store_settings_keep_the_password_secret(api, uow, store):
    created = await add_store(api, store)
    assert created["password_set"] is True and "password" not in created
    assert created["schedule"] == 30 and created["enabled"] is True
    async with uow() as s:
        row = await s.get(Store, created["id"])
    assert store.password not in row.password_encrypted  # encrypted, not kept as typed
    listed = await api.get("/stores")
    assert listed.json()["total"] == 1 and store.password not in listed.text
    changed = await api.patch(f"/stores/{created['id']}", json={"password": "", "schedule": 5})
    assert changed.json()["password_set"] is False and changed.json()["schedule"] == 5
    for bad in (
        {"exchange_url": "ftp://shop.ru/x"},
        {"exchange_url": "https://user:pw@shop.ru/x"},
        {"login": "a:b"},
        {"schedule": 1},
        {"unknown": 1},
    ):
        response = await api.patch(f"/stores/{created['id']}", json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert (await api.get("/stores/999")).status_code == 404
    assert (await api.post("/stores/999/run")).status_code == 404
    assert (await api.delete(f"/stores/{created['id']}")).status_code == 204
    assert (await api.get(f"/stores/{created['id']}")).status_code == 404


async def test_a_full_run_sends_the_catalog_and_reads_orders_once(
    api, uow, sessions, clock, tmp_path, store, catalog
):
    created = await add_store(api, store)
    assert (await api.post(f"/stores/{created['id']}/run")).status_code == 202
    job = runner(sessions, clock, tmp_path)
    assert await job.run_once() == 1
    entry = await last_run(uow)
    assert entry.status == "success", entry.message
    assert entry.counts["orders_created"] == 2

    # The store's view of the catalog is Firma's: same products, SKUs and prices.
    assert store.imported == ["import.xml", "offers.xml"]
    assert max(store.chunks) <= store.file_limit
    sent = {r.external_id: r for r in store.catalog if isinstance(r, ProductRecord)}
    offers = {r.external_id: r for r in store.catalog if isinstance(r, OfferRecord)}
    kinds = {r.external_id: r for r in store.catalog if isinstance(r, PriceTypeRecord)}
    async with uow() as s:
        products = list(await s.scalars(select(Product).options(selectinload(Product.prices))))
    assert set(sent) == {p.external_id for p in products if p.active}  # active ones only
    assert entry.counts["products_sent"] == len(sent) == 35  # one is marked deleted in 1C
    mat = next(p for p in products if p.sku == "PM-421-WP")
    assert sent[mat.external_id].name == mat.name and sent[mat.external_id].vat_rate == 20
    assert offers[mat.external_id].quantity == mat.stock == Decimal(377)
    assert Decimal(100) in offers[mat.external_id].prices.values()
    assert "279b6812-740b-11e8-80c8-0cc47ab29cd1" in kinds

    # The Bitrix orders became Firma orders of channel "store", lines on the products.
    async with uow() as s:
        orders = list(await s.scalars(select(Order).options(selectinload(Order.lines))))
        links = {x.site_id: x for x in await s.scalars(select(StoreOrder))}
        customers = list(await s.scalars(select(Customer)))
    assert sorted(links) == ["132", "133"] and {o.channel for o in orders} == {"store"}
    big = next(o for o in orders if o.id == links["133"].order_id)
    assert big.total == Decimal("14380.58") and len(big.lines) == 7
    assert {c.name for c in customers} == {"catalog_exchange", "Контент менджер"}
    assert store.successes == 1

    # Read again (the store still lists them): still two orders, nothing doubled.
    clock.advance(__import__("datetime").timedelta(minutes=31))
    assert await job.run_once() == 1
    async with uow() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 2
        assert await s.scalar(select(func.count()).select_from(Customer)) == 2
    assert (await last_run(uow)).counts["orders_updated"] == 2

    # A manager moves an order on: its status goes back to the store, once.
    async with uow() as s:
        done = await state_of(s, "in_work")
        await change_order_state(s, links["132"].order_id, state_id=done.id)
    await api.post(f"/stores/{created['id']}/run")
    await job.run_once()
    assert [(d.external_id, d.requisites["Статус заказа"]) for d in store.statuses] == [
        ("132", "В работе")
    ]
    await api.post(f"/stores/{created['id']}/run")
    await job.run_once()
    assert len(store.statuses) == 1  # already synced: not sent again
    log = (await api.get("/exchanges", params={"store_id": created["id"]})).json()
    assert log["total"] == 4 and {i["status"] for i in log["items"]} == {"success"}
    assert all(i["store_id"] == created["id"] for i in log["items"])


async def test_zip_and_small_file_limit_chunk_the_upload(
    api, uow, sessions, clock, tmp_path, store, catalog
):
    store.zip, store.file_limit = True, 4096
    await add_store(api, store)
    assert await runner(sessions, clock, tmp_path).run_once() == 1
    assert (await last_run(uow)).status == "success"
    assert len(store.chunks) > 1 and max(store.chunks) <= 4096
    assert store.imported == ["import.xml", "offers.xml"]


async def test_a_dropped_connection_mid_upload_starts_over_cleanly(
    api, uow, sessions, clock, tmp_path, store, catalog
):
    store.file_limit, store.drop_chunks = 8192, 1
    await add_store(api, store)
    await runner(sessions, clock, tmp_path).run_once()
    entry = await last_run(uow)
    assert entry.status == "success" and entry.counts["catalog_retries"] == 1
    # Started over after init: the store got whole files, not a half plus a whole.
    assert len([r for r in store.catalog if isinstance(r, ProductRecord)]) == 35


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"password": "wrong"}, "refused the login"),
        ({"fail_import": "Ошибка инфоблока"}, "Ошибка инфоблока"),
        ({"never_success": True}, "still answered progress"),
        ({"orders": b"<?xml version='1.0'?><broken"}, "orders file is broken"),
        ({"slow_s": 1.0}, "did not answer in time"),
    ],
    ids=["wrong-password", "failure-answer", "never-success", "broken-xml", "timeout"],
)
async def test_a_failing_store_leaves_a_clear_log_and_loses_nothing(
    api, uow, sessions, clock, tmp_path, store, catalog, fault, expected
):
    created = await add_store(api, store)
    for name, value in fault.items():
        setattr(store, name, value)
    limits = {"max_import_calls": 5, "timeout_s": 0.3 if "slow_s" in fault else 5.0}
    assert await runner(sessions, clock, tmp_path, **limits).run_once() == 1
    entry = await last_run(uow)
    assert entry.status == "failure" and expected in entry.message, entry.message
    assert store.successes == 0  # the store is never told its orders were taken
    async with uow() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 0
        row = await s.get(Store, created["id"])
    assert row.last_status == "failure" and row.lease_until is None
    assert row.next_run_at > clock.now()  # tried again at the next scheduled run
    read = (await api.get(f"/stores/{created['id']}")).json()
    assert read["last_status"] == "failure" and expected in read["last_message"]


async def test_two_workers_never_run_one_store_twice(api, uow, sessions, clock, tmp_path, store):
    store.orders = (FIXTURES / "bitrix-query-response-empty.xml").read_bytes()
    await add_store(api, store, send_catalog=False)
    first, second = runner(sessions, clock, tmp_path), runner(sessions, clock, tmp_path)
    ran = await asyncio.gather(first.run_once(), second.run_once())  # racing for one store
    assert sorted(ran) == [0, 1]
    assert await second.run_once() == 0  # not due again until its schedule
    assert store.modes("sale").count("query") == 1
    assert (await last_run(uow)).counts.get("orders_read") == 0
    assert store.modes("catalog") == []  # send_catalog off: the sale part only


async def test_reading_back_what_we_wrote(store):
    """The fixture orders parse into documents with lines and buyers (sanity)."""
    from channels.commerceml.documents import read_documents

    documents = list(read_documents(io.BytesIO(store.orders)))
    assert [d.external_id for d in documents] == ["132", "133"]
    assert documents[0].requisites["Статус заказа"].startswith("[N]")
