"""Spreadsheets in and out: CSV in its encodings and delimiters, XLSX, vCard; the API
(multipart upload, dry run, export) and the ``firma import``/``firma export`` commands.
Hostile files: wrong encoding, missing columns, huge rows and files, formula injection."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import openpyxl
import pytest
from sqlalchemy import func, select

from channels.files.tabular import read_table
from channels.files.vcard import read_vcards
from crm_core.models import Customer, Product
from tests.factories.commerce import make_product

CSV_HEADER = "ФИО;Телефон;E-mail;Комментарий\r\n"


async def _count(sessions, model) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model))


def _upload(api, kind: str, data: bytes, name: str, **params):
    return api.post(f"/imports/{kind}", params=params, files={"file": (name, data)})


def test_csv_encodings_and_delimiters_are_detected():
    text = CSV_HEADER + "Анна;+79123456789;anna@example.ru;ок\r\n"
    for data, encoding in (
        (text.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8-sig"),
        (text.encode("cp1251"), "windows-1251"),
    ):
        table = read_table(data, "a.csv", "customers")
        assert (table.encoding, table.delimiter) == (encoding, ";")
        ((number, cells),) = list(table.rows)
        assert number == 2 and cells[0] == "Анна"
    comma = read_table(b'name,phone\n"Smith, John",+79001234567\n', "b.csv", "customers")
    assert comma.delimiter == "," and list(comma.rows) == [(2, ["Smith, John", "+79001234567"])]
    assert comma.fields == ["name", "phone"]


async def test_csv_import_through_the_api_dry_run_then_real(api, sessions):
    data = (
        CSV_HEADER
        + "Анна Петрова;+7 912 345-67-89;anna@example.ru;первая\r\n"
        + "Борис;8 (900) 000-00-01;;\r\n"
        + "Анна;89123456789;;дубль\r\n"
        + "Ошибка;12;;\r\n"
    ).encode("cp1251")
    preview = await _upload(api, "customers", data, "clients.csv", dry_run="true")
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["dry_run"] is True and report["encoding"] == "windows-1251"
    assert report["counts"] == {"created": 2, "updated": 0, "unchanged": 1, "error": 1}
    assert report["results"][3] == {
        "row": 5,
        "status": "error",
        "errors": {"phone": report["results"][3]["errors"]["phone"]},
    }
    assert await _count(sessions, Customer) == 0

    done = (await _upload(api, "customers", data, "clients.csv")).json()
    assert done["counts"] == {"created": 2, "updated": 0, "unchanged": 1, "error": 1}
    again = (await _upload(api, "customers", data, "clients.csv", errors_only="true")).json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "error": 1}
    assert [r["row"] for r in again["results"]] == [5]
    assert await _count(sessions, Customer) == 2


async def test_xlsx_of_10000_rows_with_broken_rows_and_duplicates(api, sessions, uow, tmp_path):
    async with uow() as s:
        await make_product(s, sku="P-00001", name="Был раньше", price="1.00")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Товары")
    sheet.append(["Артикул", "Наименование", "Цена", "Остаток", "Лишний столбец"])
    for i in range(1, 10_001):
        if i % 1000 == 0:
            sheet.append([f"P-{i:05d}", f"Товар {i}", "не число", 1, "x"])  # 10 broken
        elif i % 500 == 0:
            sheet.append([f"P-{i - 1:05d}", f"Товар {i - 1}", 99, 1, None])  # 10 duplicates
        else:
            sheet.append([f"P-{i:05d}", f"Товар {i}", i, i % 7, None])
    path = tmp_path / "catalog.xlsx"
    book.save(path)
    r = await _upload(api, "products", path.read_bytes(), "catalog.xlsx")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["format"] == "xlsx" and report["rows"] == 10_000
    assert report["unknown_columns"] == ["Лишний столбец"]
    # 10,000 rows: 10 broken, 10 repeat an earlier SKU, P-00001 existed before.
    assert report["counts"] == {"created": 9979, "updated": 11, "unchanged": 0, "error": 10}
    assert {r["row"] for r in report["results"] if r["status"] == "error"} == {
        i + 1 for i in range(1000, 10_001, 1000)
    }
    assert await _count(sessions, Product) == 9980


async def test_hostile_files_are_refused_clearly(api, sessions):
    r = await _upload(api, "customers", "x".encode("utf-16"), "a.csv")
    assert r.status_code == 422 and "CSV" in r.json()["detail"]
    r = await _upload(api, "customers", b"\x00\x01\x02" * 100, "a.csv")
    assert r.status_code == 422
    r = await _upload(api, "customers", "Имя;Комментарий\nАнна;x\n".encode(), "a.csv")
    assert r.status_code == 422 and r.json()["detail"] == "Нет обязательных столбцов: phone/email"
    r = await api.post(
        "/imports/customers",
        files={"file": ("a.csv", b"Comment\nx\n")},
        headers={"Accept-Language": "en"},
    )
    assert r.json()["detail"] == "Required columns are missing: name, phone/email"
    r = await _upload(api, "customers", b"PK\x03\x04 not really a zip", "a.xlsx")
    assert r.status_code == 422 and r.json()["detail"] == "Файл XLSX повреждён"
    r = await _upload(api, "customers", b"", "a.csv")
    assert r.status_code == 422
    r = await _upload(api, "orders", b"a;b\n", "a.csv")
    assert r.status_code == 422
    big = b"name;phone\n" + b"x;+79000000000\n" * (50 * 1024 * 1024 // 15)
    r = await _upload(api, "customers", big, "big.csv")
    assert r.status_code == 413 and "МБ" in r.json()["detail"]
    r = await api.post("/imports/customers", data={"mapping": "{}"})
    assert r.status_code == 422 and "file" in r.json()["detail"]
    r = await api.post(
        "/imports/customers",
        content=b"garbage",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 422
    assert await _count(sessions, Customer) == 0


async def test_a_huge_row_is_one_error_and_the_rest_go_in(api, sessions):
    data = "name;phone\nАнна;+79000000001\n{};+79000000002\nБорис;+79000000003\n".format(
        "Я" * 20_000
    ).encode()
    report = (await _upload(api, "customers", data, "a.csv")).json()
    assert report["counts"]["created"] == 2 and report["counts"]["error"] == 1
    assert report["results"][1] == {
        "row": 3,
        "status": "error",
        "errors": {"row": "Строка слишком длинная"},
    }


async def test_explicit_column_mapping(api, sessions):
    data = "Клиентка;Мобильник\nАнна;+79000000001\n".encode()
    r = await api.post(
        "/imports/customers",
        files={"file": ("a.csv", data)},
        data={"mapping": json.dumps({"Клиентка": "name", "Мобильник": "phone"})},
    )
    assert r.json()["counts"]["created"] == 1
    r = await api.post(
        "/imports/customers", files={"file": ("a.csv", data)}, data={"mapping": "[1]"}
    )
    assert r.status_code == 422


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Петрова;Анна;;;\r\nFN:Анна Петрова\r\n"
    "ORG:ООО «Ромашка»\\, филиал\\; 1;Отдел продаж\r\nitem1.TEL;TYPE=CELL:+7 912 345-67-89\r\n"
    "EMAIL;TYPE=INTERNET:anna@example.ru\r\nNOTE:Первая строка\\nвторая\\, с запятой\r\n"
    "ADR;TYPE=WORK:;;ул. Ленина\\, 1;Москва;;101000;Россия\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Очень-очень длинное имя контакта, которое переносится"
    "\r\n  на следующую строку\r\nTEL;VALUE=uri:tel:+79000000002\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD\r\n"
    "TEL:+79000000003\r\nEND:VCARD\r\n"
)


def test_vcards_are_read_leniently():
    cards = [values for _n, values in read_vcards(VCARDS.encode())]
    assert cards[0]["name"] == "Анна Петрова"
    assert cards[0]["legal_name"] == "ООО «Ромашка», филиал; 1"
    assert cards[0]["phone"] == "+7 912 345-67-89"
    assert cards[0]["comment"] == "Первая строка\nвторая, с запятой"
    assert cards[0]["address"] == "ул. Ленина, 1, Москва, 101000, Россия"
    assert (
        cards[1]["name"]
        == "Очень-очень длинное имя контакта, которое переносится на следующую строку"
    )
    assert cards[1]["phone"] == "+79000000002"
    assert cards[2]["name"] == "Иван"


async def test_vcard_import_and_export_round_trip(api, sessions):
    report = (await _upload(api, "customers", VCARDS.encode(), "contacts.vcf")).json()
    assert report["format"] == "vcard" and report["counts"]["created"] == 3
    r = await api.get("/exports/customers", params={"format": "vcf"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/vcard")
    assert all(len(line.encode()) <= 75 for line in r.text.split("\r\n"))
    back = [values for _n, values in read_vcards(r.content)]
    assert sorted(c["phone"] for c in back) == ["+79000000002", "+79000000003", "+79123456789"]
    # Importing the export again changes nobody.
    again = (await _upload(api, "customers", r.content, "export.vcf")).json()
    assert again["counts"]["unchanged"] == 3 and again["counts"]["created"] == 0
    assert (await _upload(api, "products", VCARDS.encode(), "x.vcf")).status_code == 422


async def test_exports_neutralise_formulas(api, uow, tmp_path):
    async with uow() as s:
        from crm_core.customers.service import create_customer

        await create_customer(s, name="=cmd|' /C calc'!A0", phones=["+79000000009"], comment="+1-2")
        await create_customer(s, name="@SUM(1+1)", emails=["x@example.ru"])
    r = await api.get("/exports/customers", params={"format": "csv"})
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["id", "name", "kind"]
    names = {row[1] for row in rows[1:]}
    assert names == {"'=cmd|' /C calc'!A0", "'@SUM(1+1)"}
    assert any(row[9] == "'+1-2" for row in rows[1:])

    r = await api.get("/exports/customers", params={"format": "xlsx"})
    assert r.status_code == 200
    path = tmp_path / "c.xlsx"
    path.write_bytes(r.content)
    sheet = openpyxl.load_workbook(path).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value]
    assert all(c.data_type != "f" for c in cells)
    assert {c.value for c in cells if c.column == 2} == {"'=cmd|' /C calc'!A0", "'@SUM(1+1)"}


async def test_product_export_imports_back_unchanged(api, uow, sessions):
    async with uow() as s:
        await make_product(s, sku="A-1", name="Стул; со спинкой", price="2500.50", stock=3)
        await make_product(
            s, sku="A-2", name='Лампа "Луч"', price="99.00", description="строка 1\nстрока 2"
        )
    for fmt in ("csv", "xlsx"):
        r = await api.get("/exports/products", params={"format": fmt})
        assert r.status_code == 200
        report = (await _upload(api, "products", r.content, f"products.{fmt}")).json()
        assert report["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "error": 0}, report
    orders = await api.get("/exports/orders")
    assert orders.status_code == 200 and orders.text.startswith("\ufeffid;number;date")


def _firma(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIRMA_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "firma", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_import_and_export(engine, sessions, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    source = tmp_path / "clients.csv"
    source.write_bytes((CSV_HEADER + "Анна;+79123456789;;\r\nНет;12;;\r\n").encode("cp1251"))
    done = _firma(url, "import", "customers", str(source), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "1 created" in done.stdout and "1 errors" in done.stdout
    assert "row 3: phone:" in done.stderr
    assert await _count(sessions, Customer) == 0
    done = _firma(url, "import", "customers", str(source))
    assert done.returncode == 0 and "1 created" in done.stdout
    assert await _count(sessions, Customer) == 1

    out = tmp_path / "out.xlsx"
    done = _firma(url, "export", "customers", "--format", "xlsx", "-o", str(out))
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(out).active
    assert [c.value for c in sheet[2]][1] == "Анна"

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Comment\nx\n")
    refused = _firma(url, "import", "customers", str(bad))
    assert refused.returncode == 2 and "Required columns are missing" in refused.stderr


@pytest.mark.parametrize("value", ["=1+2", "+7900", "-5", "@x", "\tcmd"])
def test_neutralize(value):
    from channels.files.writers import neutralize

    assert neutralize(value) == "'" + value
    assert neutralize("Анна") == "Анна" and neutralize(5) == 5


def test_every_channel_text_has_a_russian_translation():
    from pathlib import Path

    from channels.texts import catalog
    from crm_core.i18n import missing_translations
    from tests.i18n_util import extracted_messages

    root = Path(__file__).resolve().parents[2] / "channels"
    messages: set[str] = set()
    for part in ("admin", "calendar", "feeds", "files", "webhooks", "yookassa"):
        messages |= extracted_messages(root / part)
    assert "The row is too long" in messages and "Task" in messages
    assert missing_translations(catalog, "ru", messages) == []
