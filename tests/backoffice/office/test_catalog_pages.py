"""The catalog pages: list with prices and stock, search and group filter, edit,
deactivate, and the CSV/XLSX import with a preview and per-row errors."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import Workbook

from crm_core.catalog.service import get_product, list_products
from tests.factories.commerce import make_product

XSS = "<script>alert(1)</script>"


async def test_list_search_group_and_deactivate(office, office_manager, uow):
    async with uow() as s:
        chair = await make_product(
            s,
            name=f"Стул {XSS}",
            sku="CH-1",
            group="Мебель",
            stock=5,
            prices={"retail": "1500.00", "wholesale": "1200.00"},
        )
        lamp = await make_product(s, name="Лампа", sku="LM-1", group="Свет", price="800.00")
    html = (await office.get("/office/catalog")).text
    assert f'data-product-id="{chair.id}"' in html and f'data-product-id="{lamp.id}"' in html
    assert XSS not in html and "&lt;script&gt;" in html
    assert re.search(r"1\s200,00", html)  # the wholesale price in its column
    html = (await office_manager.get("/office/catalog?q=LM-1")).text
    assert f'data-product-id="{lamp.id}"' in html and f'data-product-id="{chair.id}"' not in html
    group_id = re.search(r'<option value="(\d+)">Мебель</option>', html).group(1)
    html = (await office.get(f"/office/catalog?group={group_id}")).text
    assert f'data-product-id="{chair.id}"' in html and f'data-product-id="{lamp.id}"' not in html
    r = await office.post_form(f"/office/catalog/{lamp.id}/active", {"back": "?q=LM"})
    assert r.status_code == 303 and r.headers["location"] == "/office/catalog?q=LM"
    html = (await office.get("/office/catalog")).text
    assert f'data-product-id="{lamp.id}"' not in html
    html = (await office.get("/office/catalog?show=inactive")).text
    assert f'data-product-id="{lamp.id}"' in html
    r = await office.post_form(f"/office/catalog/{lamp.id}/active", {"back": "//evil.example"})
    assert r.headers["location"] == "/office/catalog?"
    for query in ("group=abc", "show=<x>", "page=-1", "q=" + "я" * 3000):
        assert (await office.get(f"/office/catalog?{query}")).status_code == 200, query
    assert (await office.post(f"/office/catalog/{lamp.id}/active", data={})).status_code == 403


async def test_create_and_edit_product(office, uow):
    r = await office.get("/office/catalog/new")
    assert r.status_code == 200
    kinds = re.findall(r'name="price_(\d+)"', r.text)
    form = {
        "name": f"Шкаф {XSS}",
        "sku": "SH-9",
        "kind": "goods",
        "unit": "шт",
        "group": "Мебель",
        "stock": "3",
        "vat_rate": "20",
        f"price_{kinds[0]}": "12 500,00",
        "active": "1",
    }
    r = await office.post_form("/office/catalog/new", form)
    assert r.status_code == 303, r.text
    product_id = int(re.search(r"/catalog/(\d+)", r.headers["location"]).group(1))
    page = (await office.get(f"/office/catalog/{product_id}")).text
    assert XSS not in page and 'value="12500.00"' in page
    async with uow() as s:
        product = await get_product(s, product_id)
    assert product.stock == 3 and product.vat_rate == 20
    assert [p.price for p in product.prices] == [Decimal("12500.00")]
    # Refusals: a taken SKU, a negative price, a bad VAT rate, stock of a service, no name.
    for changes in (
        {"sku": "SH-9"},
        {f"price_{kinds[0]}": "-1"},
        {"vat_rate": "13"},
        {"kind": "service", "stock": "2"},
        {"name": ""},
        {"kind": "weapon"},
        {"stock": "1e400"},
    ):
        r = await office.post_form("/office/catalog/new", form | changes)
        assert r.status_code in (409, 422), changes
    # Edit: the price emptied is removed; the name changes.
    r = await office.post_form(
        f"/office/catalog/{product_id}", form | {"name": "Шкаф", f"price_{kinds[0]}": ""}
    )
    assert r.status_code == 303
    async with uow() as s:
        product = await get_product(s, product_id)
    assert product.name == "Шкаф" and product.prices == []
    assert (await office.get("/office/catalog/999999")).status_code == 404
    assert (await office.post_form("/office/catalog/999999", form)).status_code == 404


CSV = (
    "Артикул;Наименование;Цена;Остаток;Группа;Лишняя колонка\n"
    "CH-1;Стул новый;1 600,00;10;Мебель;x\n"
    "NEW-1;<script>alert(1)</script>;99;1;;\n"
    "BAD-1;Плохая цена;дорого;1;;\n"
    ";;;;;\n"
    "BAD-2;Минус;-5;1;;\n"
)


async def _upload(office, name: str, data: bytes):
    return await office.post(
        "/office/catalog/import",
        data={"csrf_token": office.csrf, "step": "preview"},
        files={"file": (name, data, "text/csv")},
    )


async def test_import_csv_preview_then_import(office, uow):
    async with uow() as s:
        chair = await make_product(s, name="Стул", sku="CH-1", price="1500.00")
    assert (await office.get("/office/catalog/import")).status_code == 200
    r = await _upload(office, "prices.csv", CSV.encode("cp1251", errors="replace"))
    assert r.status_code == 200, r.text
    statuses = dict(re.findall(r'data-row="(\d+)" data-status="(\w+)"', r.text))
    assert statuses == {"2": "updated", "3": "created", "4": "error", "6": "error"}
    assert "Лишняя колонка" in r.text and XSS not in r.text
    async with uow() as s:
        assert (await get_product(s, chair.id)).name == "Стул"  # the preview wrote nothing
    rows = re.search(r'name="rows" value="([^"]*)"', r.text).group(1)
    import html as html_lib

    r = await office.post_form(
        "/office/catalog/import", {"step": "import", "rows": html_lib.unescape(rows)}
    )
    assert r.status_code == 200
    statuses = dict(re.findall(r'data-row="(\d+)" data-status="(\w+)"', r.text))
    assert statuses == {"2": "updated", "3": "created", "4": "error", "6": "error"}
    async with uow() as s:
        chair = await get_product(s, chair.id)
        assert chair.name == "Стул новый" and chair.stock == 10
        assert [p.price for p in chair.prices] == [Decimal("1600.00")]
        found, total = await list_products(s, q="NEW-1")
    assert total == 1 and found[0].name == XSS


async def test_import_xlsx_and_hostile_files(office, uow):
    book = Workbook()
    sheet = book.active
    sheet.append(["SKU", "Name", "Price", "Kind"])
    sheet.append(["SV-1", "Монтаж", 2500, "услуга"])
    sheet.append(["SV-2", "Непонятное", 10, "оружие"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = await _upload(office, "catalog.xlsx", buffer.getvalue())
    assert r.status_code == 200
    statuses = dict(re.findall(r'data-row="(\d+)" data-status="(\w+)"', r.text))
    assert statuses == {"2": "created", "3": "error"}
    for name, data in (
        ("empty.csv", b""),
        ("fake.xlsx", b"PK\x03\x04garbage"),
        ("noheader.csv", b"foo;bar\n1;2\n"),
        ("big.csv", b"a" * (5 * 1024 * 1024 + 10)),
    ):
        r = await _upload(office, name, data)
        assert r.status_code == 422, name
    r = await office.post_form("/office/catalog/import", {"step": "import", "rows": "{not json"})
    assert r.status_code == 422
    r = await office.post(
        "/office/catalog/import",
        data={"step": "preview"},
        files={"file": ("a.csv", b"sku;name\n1;2\n", "text/csv")},
    )
    assert r.status_code == 403  # no CSRF token


async def test_refused_edit_keeps_the_product(office, uow):
    async with uow() as s:
        product = await make_product(s, name="Было", sku="W-1")
        await make_product(s, name="Другой", sku="W-2")
    r = await office.post_form(
        f"/office/catalog/{product.id}", {"name": "Стало", "sku": "W-2", "kind": "goods"}
    )
    assert r.status_code == 409, re.findall(r"field-error[^>]*>([^<]*)", r.text)
    assert 'value="Стало"' in r.text
    async with uow() as s:
        assert (await get_product(s, product.id)).name == "Было"
