"""Rows out as CSV, XLSX or vCard, safe to open in a spreadsheet.

Formula injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR
would run as a formula in Excel/LibreOffice (``=cmd|' /C calc'!A0``); such cells are
written with a leading apostrophe, and in XLSX also typed as text. Numbers stay numbers.
CSV is UTF-8 with a BOM and ``;`` (what Russian Excel opens without asking).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from channels.files.vcard import write_vcards

FORMATS = ("csv", "xlsx", "vcf")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "vcf": "text/vcard; charset=utf-8",
}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """A cell value that a spreadsheet will not evaluate."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return neutralize(str(value)) if isinstance(value, str) else value


async def write_csv(batches: AsyncIterator[list[list[Any]]]) -> AsyncIterator[bytes]:
    """CSV bytes, one chunk per batch of rows."""
    first = True
    async for rows in batches:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerows([[_text(v) for v in row] for row in rows])
        chunk = buffer.getvalue().encode("utf-8")
        yield (b"\xef\xbb\xbf" + chunk) if first else chunk
        first = False


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value  # Excel has no zones
    if isinstance(value, Decimal):
        return float(value) if value == value.quantize(Decimal("0.001")) else str(value)
    return neutralize(value)


async def write_xlsx(batches: AsyncIterator[list[list[Any]]], target: BinaryIO | Path) -> None:
    """An XLSX workbook (write-only mode: rows are not kept in memory) to ``target``."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Firma")
    async for rows in batches:
        for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
                cells.append(cell)
            sheet.append(cells)
    book.save(target)


async def write_vcf(batches: AsyncIterator[list[list[Any]]]) -> AsyncIterator[bytes]:
    header: list[str] | None = None
    async for rows in batches:
        if header is None:
            header, rows = [str(h) for h in rows[0]], rows[1:]
        records: Iterable[dict[str, Any]] = (dict(zip(header, row, strict=False)) for row in rows)
        yield "".join(write_vcards(records)).encode("utf-8")
