"""Catalog exchange leftovers: properties, images, variants, deactivate, old folders,
settings — through ``/exchange/1c`` as 1C drives it."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channels.onec_files import OnecConfig
from crm_core.models import Product
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
