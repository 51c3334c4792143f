"""Importing products from a CSV or XLSX file ``/office/catalog/import``: upload, see the
preview with an error per row (the core's dry run writes nothing), then import.

The preview page carries the rows it read (JSON in a hidden field, size-capped), so the
second step needs neither the file again nor any state on the server; the core checks
every row again when it imports. Reading the file is the door's work (encoding,
delimiter, header names); what a row means is the core's (``crm_core.imports``).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from itertools import islice
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.templating import render
from crm_core.errors import ValidationFailed
from crm_core.imports.products import import_products, preview_products
from crm_core.imports.rows import ImportRow

router = APIRouter()
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_CELL = 5000
HEADERS = {
    "sku": ("sku", "артикул", "код", "article"),
    "name": ("name", "наименование", "название", "товар"),
    "kind": ("kind", "вид", "тип", "type"),
    "unit": ("unit", "ед", "ед.", "единица", "ед. изм."),
    "group": ("group", "группа", "категория"),
    "description": ("description", "описание"),
    "price": ("price", "цена"),
    "stock": ("stock", "остаток", "количество"),
    "vat_rate": ("vat_rate", "vat", "ндс", "ставка ндс"),
    "active": ("active", "активен", "в продаже"),
    "image_url": ("image_url", "картинка", "изображение"),
}
LOOKUP = {alias: field for field, aliases in HEADERS.items() for alias in aliases}


def _field(header: str) -> str | None:
    name = header.strip().lower()
    if name.startswith(("price:", "цена:")):
        return "price:" + name.split(":", 1)[1].strip()
    return LOOKUP.get(name)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(N_("The file is neither UTF-8 nor windows-1251 text"), field="file")


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    sample = text[:4096]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    return list(islice(reader, MAX_ROWS + 2))


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > 20 * MAX_BYTES:
                raise ValidationFailed(N_("The file is too large"), field="file")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationFailed(N_("This is not an XLSX file"), field="file") from exc
    sheet = book.worksheets[0]
    rows = []
    for values in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 1):
        rows.append(["" if v is None else str(v) for v in values])
    book.close()
    return rows


def read_table(data: bytes, filename: str) -> tuple[list[ImportRow], list[str]]:
    """Rows of a CSV or XLSX file keyed by product field; (rows, ignored header names)."""
    if not data:
        raise ValidationFailed(N_("Choose a file"), field="file")
    if len(data) > MAX_BYTES:
        raise ValidationFailed(N_("The file is too large"), field="file")
    is_xlsx = filename.lower().endswith(".xlsx") or data[:2] == b"PK"
    table = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    if not table:
        raise ValidationFailed(N_("The file is empty"), field="file")
    header = [_field(h) for h in table[0]]
    ignored = [h for h, f in zip(table[0], header, strict=True) if f is None and h.strip()]
    if "name" not in header and "sku" not in header:
        raise ValidationFailed(
            N_("The first row must name the columns: SKU, name, price…"), field="file"
        )
    if len(table) - 1 > MAX_ROWS:
        raise ValidationFailed(N_("Too many rows: at most 5000 at once"), field="file")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {
            field: cell[:MAX_CELL]
            for field, cell in zip(header, cells, strict=False)
            if field is not None
        }
        rows.append(ImportRow(number, values))
    return rows, ignored


def _rows_json(rows: list[ImportRow]) -> str:
    return json.dumps([[r.number, dict(r.values)] for r in rows], ensure_ascii=False)


def _rows_from_json(text: str) -> list[ImportRow]:
    try:
        raw = json.loads(text)
        rows = [
            ImportRow(int(n), {str(k): str(v)[:MAX_CELL] for k, v in values.items()})
            for n, values in raw[:MAX_ROWS]
        ]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationFailed(N_("Upload the file again"), field="file") from exc
    return rows


def _counts(results) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def _page(staff, *, status_code=200, **values: Any) -> Response:
    defaults: dict[str, Any] = {
        "errors": {},
        "results": [],
        "rows": [],
        "rows_json": "",
        "ignored": [],
        "counts": {},
        "done": False,
    }
    return render(
        staff,
        "pages/catalog_import.html",
        status_code=status_code,
        section="catalog",
        **(defaults | values),
    )


@router.get("/catalog/import")
async def import_form(staff: StaffDep) -> Response:
    return _page(staff)


@router.post("/catalog/import")
async def import_file(request: Request, staff: StaffDep) -> Response:
    """``step=preview`` with a file: the dry run. ``step=import`` with the rows: import."""
    form = await request.form()
    step = form.get("step")
    try:
        if step == "import":
            rows = _rows_from_json(str(form.get("rows", "")))
            async with staff.attempt():
                results = await import_products(staff.session, rows)
            by_number = {r.number: r for r in rows}
            return _page(
                staff,
                results=results,
                rows=by_number,
                counts=_counts(results),
                done=True,
            )
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationFailed(N_("Choose a file"), field="file")
        data = await upload.read(MAX_BYTES + 1)
        rows, ignored = read_table(data, upload.filename or "")
        results = await preview_products(staff.session, rows)
    except ValidationFailed as exc:
        return _page(staff, errors={"file": staff._(exc.message)}, status_code=422)
    return _page(
        staff,
        results=results,
        rows={r.number: r for r in rows},
        rows_json=_rows_json(rows),
        ignored=ignored,
        counts=_counts(results),
    )
