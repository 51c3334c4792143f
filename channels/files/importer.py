"""Importing a file: read it (CSV, XLSX or vCard), then preview or import it through the
core in batches — each batch one transaction, each row its own savepoint — and report
per row. Shared by ``firma import`` and ``POST /api/v1/imports/{kind}``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.files.tabular import FileRefused, read_table, row_values
from channels.files.vcard import read_vcards
from channels.texts import N_, catalog
from crm_core.context import SYSTEM, Actor, Clock, bind
from crm_core.db import READ_ONLY, unit_of_work
from crm_core.imports.customers import import_customers, preview_customers
from crm_core.imports.leads import import_leads, preview_leads
from crm_core.imports.products import import_products, preview_products
from crm_core.imports.rows import ERROR, ImportRow, RowResult

BATCH = 500
KINDS = ("customers", "products", "leads")
TOO_LONG = N_("The row is too long")
RUNNERS = {
    "customers": (preview_customers, import_customers),
    "products": (preview_products, import_products),
    "leads": (preview_leads, import_leads),
}


@dataclass
class ImportReport:
    kind: str
    format: str
    dry_run: bool
    encoding: str | None = None
    delimiter: str | None = None
    unknown_columns: list[str] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
        for result in self.results:
            out[result.status] = out.get(result.status, 0) + 1
        return out

    def as_dict(self, *, only_errors: bool = False) -> dict[str, Any]:
        results = [r for r in self.results if r.status == ERROR] if only_errors else self.results
        return {
            "kind": self.kind,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "dry_run": self.dry_run,
            "rows": len(self.results),
            "counts": self.counts,
            "unknown_columns": self.unknown_columns,
            "results": [r.as_dict() for r in results],
        }


def is_vcard(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".vcf", ".vcard")) or b"BEGIN:VCARD" in data[:2048].upper()


def read_rows(
    data: bytes, filename: str, kind: str, mapping: Mapping[str, str] | None, language: str
) -> tuple[ImportReport, Iterator[ImportRow | RowResult]]:
    """The report's frame and the rows to import (or a ready error result per bad row)."""
    if kind not in KINDS:
        raise FileRefused(N_("Cannot import {kind}"), kind=kind)
    _ = catalog.translator(language)
    if is_vcard(data, filename):
        if kind != "customers":
            raise FileRefused(N_("A vCard file holds contacts: import it as customers"))
        cards = read_vcards(data)
        return ImportReport(kind, "vcard", False), (ImportRow(n, v) for n, v in cards)
    table = read_table(data, filename, kind, mapping)
    report = ImportReport(kind, table.format, False, table.encoding, table.delimiter, table.unknown)

    def rows() -> Iterator[ImportRow | RowResult]:
        for number, cells in table.rows:
            if cells is None:
                yield RowResult(number, ERROR, errors={"row": _(TOO_LONG)})
            else:
                yield ImportRow(number, row_values(table.fields, cells))

    return report, rows()


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    *,
    kind: str,
    data: bytes,
    filename: str,
    dry_run: bool,
    clock: Clock | None = None,
    actor: Actor | None = None,
    mapping: Mapping[str, str] | None = None,
    language: str = "ru",
    batch: int = BATCH,
) -> ImportReport:
    """Preview (``dry_run``: nothing written) or import the file; FileRefused when the file
    as a whole cannot be read."""
    report, rows = read_rows(data, filename, kind, mapping, language)
    report.dry_run = dry_run
    preview, apply = RUNNERS[kind]
    pending: list[ImportRow] = []

    async def flush() -> None:
        if not pending:
            return
        if dry_run:
            async with sessions() as session:
                bind(session, actor=actor or SYSTEM, clock=clock)
                await session.connection(execution_options=READ_ONLY)
                report.results.extend(await preview(session, pending))
        else:
            async with unit_of_work(sessions, actor=actor or SYSTEM, clock=clock) as session:
                report.results.extend(await apply(session, pending))
        pending.clear()

    # A preview must see the whole file at once to find duplicates between rows.
    size = 10**9 if dry_run else batch
    for item in rows:
        if isinstance(item, RowResult):
            report.results.append(item)
            continue
        pending.append(item)
        if len(pending) >= size:
            await flush()
    await flush()
    report.results.sort(key=lambda r: r.row)
    return report
