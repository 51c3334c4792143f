"""Catalog exchange leftovers: properties, images, variants, deactivate, old folders,
settings — through ``/exchange/1c`` as 1C drives it."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channels import onec as onec_module
from channels.commerceml import read_catalog
from channels.onec import read_window
from channels.onec_files import OnecConfig
from crm_core.exchange.records import ProductRecord
from crm_core.models import ExchangeLog, Product, ProductProperty
from firma.settings import Settings
from tests.channels import test_onec_exchange as exchange_fixtures
from tests.channels.onec_client import fixture

enabled = exchange_fixtures.enabled  # the 1C account, switched on
onec = exchange_fixtures.onec  # a fake 1C driving the real endpoint


def catalog(*products: str, only_changes: bool = False) -> bytes:
    """A small 2.08 catalog: each product as (Ид, name[, picture])."""
    items = ""
    for spec in products:
        ext, name, *picture = spec.split("|")
        image = f"<Картинка>{picture[0]}</Картинка>" if picture else ""
        items += f"<Товар><Ид>{ext}</Ид><Наименование>{name}</Наименование>{image}</Товар>"
    flag = "true" if only_changes else "false"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог '
        f'СодержитТолькоИзменения="{flag}"><Ид>c</Ид><Наименование>К</Наименование>'
        f"<Товары>{items}</Товары></Каталог></КоммерческаяИнформация>"
    ).encode()


async def products(uow) -> dict[str, Product]:
    async with uow() as s:
        rows = await s.scalars(select(Product).options(selectinload(Product.prices)))
        return {p.external_id: p for p in rows}


async def test_properties_are_stored_and_shown_in_the_product_read(onec, api, uow):
    assert (await onec.send({"import0_1.xml": fixture("import0_1.xml")}))[-1] == "success\n"
    mat = (await products(uow))["bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1"]
    read = (await api.get(f"/products/{mat.id}")).json()
    assert read["properties"]["Код ОЗОН"] == "149831179"  # by the classifier's name
    # Sent again with a changed value: replaced, not added.
    changed = fixture("import0_1.xml").replace(b"149831179", b"777")
    assert (await onec.send({"import0_1.xml": changed}))[-1] == "success\n"
    read = (await api.get(f"/products/{mat.id}")).json()
    assert read["properties"]["Код ОЗОН"] == "777"


async def test_images_sent_with_the_catalog_are_kept_and_served(onec, uow):
    picture = "import_files/ab/table.jpg"
    jpeg = b"\xff\xd8\xff\xe0fake-jpeg" * 50
    page = "import_files/ab/page.html"  # only pictures are served, never a page
    files = {"import.xml": catalog(f"p1|Стол|{picture}"), picture: jpeg, page: b"<script>"}
    assert (await onec.send(files))[0] == "success\n"
    table = (await products(uow))["p1"]
    assert table.image_url == "/exchange/media/import_files/ab/table.jpg"
    served = await onec.client.get(table.image_url)
    assert served.status_code == 200 and served.content == jpeg
    assert served.headers["x-content-type-options"] == "nosniff"
    assert (await onec.client.get("/exchange/media/import_files/ab/page.html")).status_code == 404
    for evil in (
        "/exchange/media/../../etc/passwd",
        "/exchange/media/%2e%2e/x",
        "/exchange/media/nope.jpg",
    ):
        assert (await onec.client.get(evil)).status_code == 404


async def test_variants_sum_their_stock_and_give_the_lowest_price(onec, uow):
    offers = (
        '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.08">'
        "<ПакетПредложений><ТипыЦен><ТипЦены><Ид>t</Ид><Наименование>Розничная</Наименование>"
        "</ТипЦены></ТипыЦен><Предложения>"
        + "".join(
            f"<Предложение><Ид>p1#{size}</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены>"
            f"<ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу></Цена></Цены>"
            f"<Количество>{qty}</Количество></Предложение>"
            for size, price, qty in (("S", "1200", "3"), ("M", "1100", "4"), ("L", "1300", "-1"))
        )
        + "</Предложения></ПакетПредложений></КоммерческаяИнформация>"
    ).encode()
    answers = await onec.send({"import.xml": catalog("p1|Футболка"), "offers.xml": offers})
    assert answers == ["success\n", "success\n"]
    shirt = (await products(uow))["p1"]
    assert shirt.stock == Decimal(7)  # 3 + 4; a negative balance counts as none
    assert [p.price for p in shirt.prices] == [Decimal("1100.00")]


async def test_deactivate_retires_what_a_full_catalog_left_out(onec, uow, clock):
    full = catalog("p1|Стол", "p2|Стул", "p3|Шкаф")
    assert (await onec.send({"import.xml": full}))[-1] == "success\n"
    clock.advance(timedelta(hours=1))
    # Changes only (p1): deactivate must not touch the rest.
    assert (await onec.send({"import.xml": catalog("p1|Стол", only_changes=True)}))[-1] == (
        "success\n"
    )
    assert (await onec.call("deactivate")).text == "success\n"
    assert all(p.active for p in (await products(uow)).values())
    clock.advance(timedelta(hours=1))
    # A full catalog without p3: p3 is retired, the others stay.
    assert (await onec.send({"import.xml": catalog("p1|Стол", "p2|Стул")}))[-1] == "success\n"
    assert (await onec.call("deactivate")).text == "success\n"
    state = {k: p.active for k, p in (await products(uow)).items()}
    assert state == {"p1": True, "p2": True, "p3": False}


async def test_init_cleans_exchange_folders_left_for_days(onec, tmp_path):
    root = tmp_path / "exchange"
    stale, fresh = root / "deadbeef", root / "cafebabe"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "import.xml").write_bytes(b"x")
    old = time.time() - 8 * 86400
    os.utime(stale, (old, old))
    await onec.checkauth()
    await onec.init()
    assert not stale.exists() and fresh.exists()


def test_exchange_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FIRMA_EXCHANGE_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("FIRMA_EXCHANGE_FILE_LIMIT", "1048576")
    monkeypatch.setenv("FIRMA_EXCHANGE_KEEP_DAYS", "3")
    config = Settings(_env_file=None).onec()
    assert isinstance(config, OnecConfig)
    assert (config.data_dir, config.file_limit, config.keep_days) == (
        str(tmp_path / "x"),
        1048576,
        3,
    )
    assert Settings(_env_file=None).store_exchange().work_dir == f"{tmp_path / 'x'}/stores"


def full_catalog(products: dict[str, dict]) -> dict[str, bytes]:
    """import.xml and offers.xml (2.08) of ``{Ид: {name, colour, price, stock}}``."""
    items = offers = ""
    for ext, p in products.items():
        items += (
            f"<Товар><Ид>{ext}</Ид><Артикул>SKU-{ext}</Артикул>"
            f"<Наименование>{p['name']}</Наименование><Группы><Ид>g</Ид></Группы>"
            "<ЗначенияСвойств><ЗначенияСвойства><Ид>colour</Ид>"
            f"<Значение>{p['colour']}</Значение></ЗначенияСвойства></ЗначенияСвойств></Товар>"
        )
        offers += (
            f"<Предложение><Ид>{ext}</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены>"
            f"<ЦенаЗаЕдиницу>{p['price']}</ЦенаЗаЕдиницу></Цена></Цены>"
            f"<Количество>{p['stock']}</Количество></Предложение>"
        )
    head = '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.08">'
    catalog_xml = (
        f"{head}<Классификатор><Ид>c</Ид><Группы><Группа><Ид>g</Ид>"
        "<Наименование>Мебель</Наименование></Группа></Группы><Свойства><Свойство>"
        "<Ид>colour</Ид><Наименование>Цвет</Наименование></Свойство></Свойства>"
        '</Классификатор><Каталог СодержитТолькоИзменения="false"><Ид>c</Ид>'
        f"<Наименование>К</Наименование><Товары>{items}</Товары></Каталог>"
        "</КоммерческаяИнформация>"
    )
    offers_xml = (
        f"{head}<ПакетПредложений><ТипыЦен><ТипЦены><Ид>t</Ид>"
        "<Наименование>Розничная</Наименование></ТипЦены></ТипыЦен>"
        f"<Предложения>{offers}</Предложения></ПакетПредложений></КоммерческаяИнформация>"
    )
    return {"import.xml": catalog_xml.encode(), "offers.xml": offers_xml.encode()}


async def catalog_rows(uow) -> dict[str, dict]:
    """Every product's columns, price rows and property rows (with their ids)."""
    async with uow() as s:
        found = {}
        for p in await s.scalars(select(Product).options(selectinload(Product.prices))):
            found[p.external_id] = {
                "id": p.id,
                "name": p.name,
                "stock": p.stock,
                "active": p.active,
                "updated_at": p.updated_at,
                "prices": [(x.id, x.price_kind_id, x.price) for x in p.prices],
                "properties": [],
            }
        by_id = {row["id"]: row for row in found.values()}
        for prop in await s.scalars(select(ProductProperty).order_by(ProductProperty.id)):
            by_id[prop.product_id]["properties"].append((prop.id, prop.name, prop.value))
        return found


async def test_a_resent_catalog_writes_exactly_the_rows_that_changed(onec, uow, clock):
    sent = {
        f"p{n}": {"name": f"Стол {n}", "colour": "красный", "price": "100.50", "stock": n}
        for n in range(1, 6)
    }
    answers = await onec.send(full_catalog(sent))
    assert answers == ["success\n", "success\n"]
    first_time = clock.now()
    before = await catalog_rows(uow)
    assert before["p3"]["prices"][0][2] == Decimal("100.50") and before["p3"]["stock"] == 3

    clock.advance(timedelta(hours=1))
    sent["p1"]["name"] = "Стол раздвижной"  # a name
    sent["p2"]["price"] = "120,00"  # a price (1C's decimal comma)
    sent["p3"]["stock"] = 0  # a stock
    sent["p4"]["colour"] = "синий"  # a property value
    answers = await onec.send(full_catalog(sent))
    assert answers == ["success\n", "success\n"]
    after = await catalog_rows(uow)
    assert set(after) == set(before)  # nothing doubled
    assert after["p1"]["name"] == "Стол раздвижной"
    assert after["p2"]["prices"] == [
        (before["p2"]["prices"][0][0], before["p2"]["prices"][0][1], Decimal("120.00"))
    ]
    assert after["p3"]["stock"] == 0
    assert after["p4"]["properties"] == [(before["p4"]["properties"][0][0], "Цвет", "синий")]
    changed_at = clock.now()
    for ext in ("p1", "p2", "p3"):
        assert after[ext]["updated_at"] == changed_at, ext
    # p4's property row changed in place; its product row and p5 were not written.
    assert after["p4"]["updated_at"] == after["p5"]["updated_at"] == first_time
    for ext in sent:
        untouched = {k: v for k, v in before[ext].items() if k != "updated_at"}
        changes = {"p1": "name", "p2": "prices", "p3": "stock", "p4": "properties"}
        if ext in changes:
            untouched.pop(changes[ext])
        assert {k: after[ext][k] for k in untouched} == untouched, ext  # same row ids too
    async with uow() as s:
        logs = list(await s.scalars(select(ExchangeLog).order_by(ExchangeLog.id)))
    catalog_log, offers_log = logs[-2].counts, logs[-1].counts
    assert (catalog_log["products_updated"], catalog_log["products_unchanged"]) == (1, 4)
    assert (offers_log["offers_applied"], offers_log["offers_changed"]) == (5, 2)

    # The unchanged products were carried by this full catalog: deactivate keeps them.
    assert (await onec.call("deactivate")).text == "success\n"
    assert all(row["active"] for row in (await catalog_rows(uow)).values())


async def test_a_product_sent_twice_in_one_file_is_one_row_the_last_wins(onec, uow):
    twice = catalog("p1|Стол", "p2|Стул", "p1|Стол дубовый")
    assert (await onec.send({"import.xml": twice}))[-1] == "success\n"
    rows = await catalog_rows(uow)
    assert sorted(rows) == ["p1", "p2"] and rows["p1"]["name"] == "Стол дубовый"


async def test_deactivate_retires_nothing_when_the_sessions_files_are_gone(onec, uow, tmp_path):
    assert (await onec.send({"import.xml": catalog("p1|Стол", "p2|Стул")}))[-1] == "success\n"
    for path in (tmp_path / "exchange").rglob("*.xml"):
        path.unlink()
    assert (await onec.call("deactivate")).text == "success\n"
    assert all(row["active"] for row in (await catalog_rows(uow)).values())
    async with uow() as s:
        last = (await s.scalars(select(ExchangeLog).order_by(ExchangeLog.id.desc()))).first()
    assert last.mode == "deactivate" and last.counts["deactivate_skipped"] == 1


def test_a_step_goes_on_from_where_the_last_one_left_the_file(tmp_path):
    """The reader a step leaves open gives the next step exactly what parsing the file
    again and skipping would; a file sent anew in between is read anew."""
    path = tmp_path / "import.xml"
    path.write_bytes(fixture(exchange_fixtures.NESTED))
    with path.open("rb") as fh:
        every = list(read_catalog(fh))
    items = [r for r in every if isinstance(r, ProductRecord)]
    headers = [r for r in every if not isinstance(r, ProductRecord)]
    position, done = 0, False
    while not done:
        records, count, done = read_window(path, position, 100, "/m/")
        assert records == headers + items[position : position + count]
        position += count
        assert done or (str(path), position) in onec_module._OPEN  # left open for the next
    assert position == len(items) == 283
    assert not any(key[0] == str(path) for key in onec_module._OPEN)  # closed at the end

    records, count, done = read_window(path, 0, 100, "/m/")
    assert (str(path), 100) in onec_module._OPEN
    path.write_bytes(catalog("p1|Стол", "p2|Стул"))  # 1C sent another file meanwhile
    records, count, done = read_window(path, 100, 100, "/m/")
    assert (count, done) == (0, True)  # the new file has two products: none after 100


def test_readers_left_open_are_ended_before_the_process_exits(tmp_path):
    path = tmp_path / "import.xml"
    path.write_bytes(fixture(exchange_fixtures.NESTED))
    read_window(path, 0, 100, "/m/")  # 1C stops here: the reader stays open
    (reader,) = [v for k, v in onec_module._OPEN.items() if k[0] == str(path)]
    onec_module._close_all()
    assert not onec_module._OPEN and reader.fh.closed
    assert next(reader.records, None) is None  # the parse itself ended, not only the file


async def test_every_step_of_a_file_is_parsed_on_the_one_parse_thread(onec):
    """The reader a step leaves open is resumed and ended on the thread that made it:
    lxml's parse state resumed from another pool thread crashed the process now and
    then (``munmap_chunk(): invalid pointer``)."""
    name = exchange_fixtures.NESTED
    assert (await onec.checkauth()).text.startswith("success")
    await onec.init()
    await onec.upload(name, fixture(name))
    threads = set()
    for _ in range(10):
        answer = (await onec.call("import", filename=name)).text
        threads |= {v.thread for k, v in onec_module._OPEN.items() if k[0].endswith(name)}
        if not answer.startswith("progress"):
            break
    assert answer == "success\n"
    assert threads == {onec_module._PARSE.ident()}  # 283 products in steps of 100
    assert onec_module._PARSE.ident() != threading.get_ident()
