"""Reading a table from a CSV or XLSX file: encoding and delimiter detected, header
names mapped to fields (Russian and English names, or an explicit mapping), every
data row with its number in the file.

Hostile files are refused with a reason a person can act on: too large, not a table,
an encoding that is neither UTF-8 nor windows-1251, a header without the required
columns, a row too long (kept as a per-row error, the rest go on).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from channels.texts import N_
from crm_core.leads.intake import UTM_FIELDS

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_CELL_CHARS = 10_000
MAX_COLUMNS = 200
MAX_ROWS = 200_000

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "name": ("name", "full name", "имя", "фио", "клиент", "наименование", "контрагент"),
        "phone": ("phone", "phones", "tel", "mobile", "телефон", "телефоны", "мобильный"),
        "email": ("email", "e-mail", "emails", "mail", "почта", "эл. почта", "электронная почта"),
        "kind": ("kind", "type", "тип", "вид"),
        "legal_name": ("legal_name", "legal name", "company", "организация", "юр. название"),
        "inn": ("inn", "инн"),
        "address": ("address", "адрес"),
        "comment": ("comment", "note", "notes", "комментарий", "примечание"),
        "tags": ("tags", "теги", "метки"),
    },
    "leads": {
        "name": ("name", "full name", "имя", "фио", "контакт", "контактное лицо"),
        "phone": ("phone", "phones", "tel", "mobile", "телефон", "телефоны", "мобильный"),
        "email": ("email", "e-mail", "emails", "mail", "почта", "эл. почта", "электронная почта"),
        "company": ("company", "organization", "компания", "организация"),
        "source_detail": ("source_detail", "source detail", "источник", "откуда", "канал"),
        "state": ("state", "status", "стадия", "этап", "состояние", "статус"),
        "responsible": ("responsible", "manager", "ответственный", "менеджер"),
        "comment": ("comment", "note", "notes", "комментарий", "примечание"),
        **{f: (f, f.replace("_", " ")) for f in UTM_FIELDS},
    },
    "products": {
        "sku": ("sku", "vendorcode", "article", "артикул", "код"),
        "name": ("name", "title", "наименование", "название", "товар"),
        "kind": ("kind", "type", "тип", "вид"),
        "unit": ("unit", "ед.", "ед", "единица", "ед. изм."),
        "group": ("group", "category", "группа", "категория"),
        "description": ("description", "описание"),
        "price": ("price", "цена", "розничная цена"),
        "stock": ("stock", "quantity", "остаток", "количество", "кол-во"),
        "vat_rate": ("vat_rate", "vat", "ндс", "ставка ндс"),
        "active": ("active", "активен", "активный"),
        "image_url": ("image_url", "picture", "image", "картинка", "изображение"),
    },
}
REQUIRED = {"customers": ("name",), "products": ("name",), "leads": ()}
# Export-only columns an exported file carries back in: read and ignored.
IGNORED = {"id", "created_at", "source", "result", "customer_id"}
# Kinds whose rows are found again by their phones and emails: one of them is required.
BY_CONTACT = {"customers", "leads"}


class FileRefused(ValueError):
    """The file as a whole cannot be read (``message`` is the English source text)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values


@dataclass
class Table:
    fields: list[str | None]  # per column: the field it feeds, None when ignored
    header: list[str]
    rows: Iterator[tuple[int, list[str] | None]]  # (row number, cells or None: too long)
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    unknown: list[str] = field(default_factory=list)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else windows-1251 — what Russian Excel saves."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise FileRefused(N_("The file is not text: save it as CSV (UTF-8) or XLSX"))
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise FileRefused(N_("Unknown encoding: save the file as CSV UTF-8 or XLSX")) from exc
    return text, "windows-1251"


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _map_header(
    kind: str, header: list[str], mapping: Mapping[str, str] | None
) -> tuple[list[str | None], list[str]]:
    aliases = ALIASES[kind]
    lookup = {alias: name for name, names in aliases.items() for alias in names}
    explicit = {k.strip().lower(): v for k, v in (mapping or {}).items()}
    fields: list[str | None] = []
    unknown = []
    for raw in header:
        key = " ".join(str(raw).split()).lower()
        target = explicit.get(key) or lookup.get(key)
        if target is None and kind == "products" and key.startswith("price:"):
            target = key
        if target is not None and (target in aliases or target.startswith("price:")):
            fields.append(target if target not in fields else None)
        else:
            fields.append(None)
            if key and key not in IGNORED:
                unknown.append(str(raw))
    missing = [f for f in REQUIRED[kind] if f not in fields]
    has_contact = kind not in BY_CONTACT or "phone" in fields or "email" in fields
    if missing or not has_contact:
        wanted = ", ".join([*missing, *([] if has_contact else ["phone/email"])])
        raise FileRefused(N_("Required columns are missing: {columns}"), columns=wanted)
    return fields, unknown


def _csv_rows(text: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRefused(
                N_("The CSV file is broken near line {line}"), line=reader.line_num
            ) from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRefused(N_("The XLSX file is damaged")) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileRefused(
            N_("The XLSX file unpacks to more than {mb} MB"), mb=MAX_UNPACKED_BYTES >> 20
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad workbook
        raise FileRefused(N_("The XLSX file is damaged")) from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        book.close()


def read_table(
    data: bytes, filename: str, kind: str, mapping: Mapping[str, str] | None = None
) -> Table:
    """The table in ``data`` (CSV or XLSX, by content) for importing ``kind``."""
    if kind not in ALIASES:
        raise FileRefused(N_("Cannot import {kind}"), kind=kind)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(N_("The file is larger than {mb} MB"), mb=MAX_FILE_BYTES >> 20)
    if not data.strip():
        raise FileRefused(N_("The file is empty"))
    encoding = delimiter = None
    if data[:4] == b"PK\x03\x04":
        fmt, raw_rows = "xlsx", _xlsx_rows(data)
    elif filename.lower().endswith((".xlsx", ".xls")):
        raise FileRefused(N_("The file is not an XLSX workbook (old .xls is not supported)"))
    else:
        text, encoding = decode(data)
        delimiter = sniff_delimiter(text.split("\n", 1)[0])
        fmt, raw_rows = "csv", _csv_rows(text, delimiter)
    header: list[str] | None = None
    for cells in raw_rows:
        if any(c.strip() for c in cells):
            header = [c.strip() for c in cells]
            break
    if header is None:
        raise FileRefused(N_("The file has no header row"))
    if len(header) > MAX_COLUMNS:
        raise FileRefused(N_("More than {n} columns"), n=MAX_COLUMNS)
    fields, unknown = _map_header(kind, header, mapping)
    return Table(fields, header, _numbered(raw_rows), fmt, encoding, delimiter, unknown)


def _numbered(raw_rows: Iterator[list[str]]) -> Iterator[tuple[int, list[str] | None]]:
    for number, cells in enumerate(raw_rows, start=2):
        if number - 1 > MAX_ROWS:
            raise FileRefused(N_("More than {n} rows: split the file"), n=MAX_ROWS)
        if not any(c.strip() for c in cells):
            continue
        too_long = len(cells) > MAX_COLUMNS or any(len(c) > MAX_CELL_CHARS for c in cells)
        yield number, None if too_long else cells


def row_values(fields: list[str | None], cells: list[str]) -> dict[str, str]:
    return {f: cells[i] for i, f in enumerate(fields) if f is not None and i < len(cells)}
