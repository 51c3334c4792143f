"""Channels, part B: products imported from a spreadsheet and the YML feed written,
each beside a bare baseline measured in the same run.

A program, not a test: ``.venv/bin/python bench/channels.py [--rows 10000]
[--backends sqlite,postgresql]``.

- **import**: a CSV of ``--rows`` products (SKU, name, group, price, stock) through
  ``channels.files.importer.run_import`` — the path of ``firma import products`` and
  ``POST /api/v1/imports/products``: decode, detect, map the header, validate every
  row, batches of 500 in one transaction each — then the same file again (every row
  matched and unchanged). Baseline: the same rows as bare executemany INSERTs of
  products and prices (no parsing, no checks) in the same batches — the floor.
- **customers**: ``--rows``/5 people (name, phone, email) imported, then again: each new
  customer goes through the core's ``create_customer`` (contacts, outbox
  ``customer.created``, history); a re-import matches everyone in one look-up per batch.
- **YML feed**: ``GET /feeds/yml/{token}.xml`` over the real app (ASGI, streamed in
  batches of 1,000 offers) for the same catalog. Baseline: one SELECT of the same
  columns (all rows fetched at once) written with lxml ``xmlfile`` — the floor of time.
  Peak Python memory (tracemalloc, a separate pass) of both: the feed holds one batch
  of 1,000 offers at a time, the floor all rows.

PostgreSQL: database ``firma_h6_bench`` (``FIRMA_BENCH_DATABASE_URL`` overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h6_bench"
)

import httpx
from lxml import etree
from sqlalchemy import and_, insert, select

from bench.common import fresh_engine, table
from channels.files.importer import run_import
from crm_core.catalog_feed.service import rotate_feed_token
from crm_core.db import session_factory, unit_of_work
from crm_core.models import PriceKind, Product, ProductPrice

BATCH = 500


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("Артикул;Наименование;Группа;Цена;Остаток;Описание\r\n")
    for i in range(rows):
        out.write(
            f"B-{i:06d};Товар № {i} «Дом & Сад»;Группа {i % 50};{i % 9000 + 10},50;{i % 17};"
            f"Описание товара {i} <b>жирно</b>\r\n"
        )
    return out.getvalue().encode("utf-8")


async def baseline_insert(engine, rows: int) -> float:
    """Bare executemany INSERTs of the same products and prices, batches of 500."""
    sessions = session_factory(engine)
    async with sessions() as s:
        kind_id = await s.scalar(select(PriceKind.id).where(PriceKind.is_default.is_(True)))
    at = datetime.now(UTC)
    start = time.perf_counter()
    for first in range(0, rows, BATCH):
        async with engine.begin() as conn:
            products = [
                {
                    "sku": f"R-{i:06d}",
                    "name": f"Товар № {i}",
                    "kind": "goods",
                    "unit": "шт",
                    "stock": Decimal(i % 17),
                    "active": True,
                    "description": f"Описание товара {i}",
                    "created_at": at,
                    "updated_at": at,
                }
                for i in range(first, min(rows, first + BATCH))
            ]
            table_ = Product.__table__
            ids = (
                await conn.execute(
                    insert(table_).returning(table_.c.id, sort_by_parameter_order=True), products
                )
            ).scalars()
            await conn.execute(
                insert(ProductPrice.__table__),
                [
                    {"product_id": pid, "price_kind_id": kind_id, "price": Decimal("10.50")}
                    for pid in ids
                ],
            )
    return time.perf_counter() - start


async def firma_import(engine, data: bytes, kind: str = "products") -> tuple[float, dict]:
    sessions = session_factory(engine)
    start = time.perf_counter()
    report = await run_import(
        sessions, kind=kind, data=data, filename="bench.csv", dry_run=False, batch=BATCH
    )
    return time.perf_counter() - start, report.counts


def make_customers_csv(rows: int) -> bytes:
    lines = ["ФИО;Телефон;E-mail"]
    lines += [f"Клиент {i};+7900{i:07d};c{i}@example.ru" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


async def baseline_feed(engine, trace: bool) -> tuple[float, int, float]:
    """One SELECT, written with lxml xmlfile: the floor of any YML writer."""
    sessions = session_factory(engine)
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    out = io.BytesIO()
    async with sessions() as s:
        kind_id = await s.scalar(select(PriceKind.id).where(PriceKind.is_default.is_(True)))
        result = await s.execute(
            select(
                Product.id,
                Product.sku,
                Product.name,
                Product.group_id,
                Product.description,
                Product.stock,
                ProductPrice.price,
            )
            .join(
                ProductPrice,
                and_(ProductPrice.product_id == Product.id, ProductPrice.price_kind_id == kind_id),
            )
            .where(Product.active.is_(True))
            .order_by(Product.id)
        )
        with (
            etree.xmlfile(out, encoding="utf-8") as xf,
            xf.element("yml_catalog"),
            xf.element("shop"),
            xf.element("offers"),
        ):
            for pid, sku, name, group_id, description, stock, price in result:
                offer = etree.Element("offer", id=str(pid), available="true")
                etree.SubElement(offer, "name").text = name
                etree.SubElement(offer, "price").text = f"{price:.2f}"
                etree.SubElement(offer, "currencyId").text = "RUB"
                etree.SubElement(offer, "categoryId").text = str(group_id)
                etree.SubElement(offer, "vendorCode").text = sku
                etree.SubElement(offer, "description").text = description
                etree.SubElement(offer, "count").text = str(int(stock))
                xf.write(offer)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return seconds, len(out.getvalue()), peak / 2**20


async def firma_feed(engine, trace: bool) -> tuple[float, int, float, int]:
    from firma.app import Runtime, create_app
    from firma.settings import Settings

    sessions = session_factory(engine)
    async with unit_of_work(sessions) as s:
        token = await rotate_feed_token(s)
    url = engine.url.render_as_string(hide_password=False)
    runtime = Runtime(Settings(database_url=url), engine, sessions)
    app = create_app(runtime, with_bot=False)
    transport = httpx.ASGITransport(app=app)
    size = offers = 0
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        client.stream("GET", f"/feeds/yml/{token}.xml") as response,
    ):
        assert response.status_code == 200, response.status_code
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            offers += chunk.count(b"<offer ")
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return seconds, size, peak / 2**20, offers


async def run(backend: str, rows: int) -> list[list[object]]:
    engine = await fresh_engine(backend)
    try:
        data = make_csv(rows)
        base = await baseline_insert(engine, rows)
        first, counts = await firma_import(engine, data)
        assert counts["created"] == rows, counts
        again, counts2 = await firma_import(engine, data)
        assert counts2["unchanged"] == rows, counts2
        # Times without tracemalloc (it slows Python several-fold); memory in a second pass.
        feed_base, base_size, _ = await baseline_feed(engine, trace=False)
        feed_s, feed_size, _, offers = await firma_feed(engine, trace=False)
        _, _, base_mem = await baseline_feed(engine, trace=True)
        _, _, feed_mem, _ = await firma_feed(engine, trace=True)
        assert offers == 2 * rows, offers  # the baseline's rows are in the catalog too
        people = make_customers_csv(rows // 5)
        c_first, c_counts = await firma_import(engine, people, "customers")
        assert c_counts["created"] == rows // 5, c_counts
        c_again, c_counts = await firma_import(engine, people, "customers")
        assert c_counts["unchanged"] == rows // 5, c_counts
    finally:
        await engine.dispose()
    return [
        [
            backend,
            f"import {rows} new",
            f"{rows / first:,.0f} rows/s",
            f"{rows / base:,.0f} rows/s",
            f"{base / first:.2f}",
        ],
        [backend, f"re-import {rows} unchanged", f"{rows / again:,.0f} rows/s", "", ""],
        [
            backend,
            f"customers: import {rows // 5} new",
            f"{rows // 5 / c_first:,.0f} rows/s",
            "",
            "",
        ],
        [
            backend,
            f"customers: re-import {rows // 5}",
            f"{rows // 5 / c_again:,.0f} rows/s",
            "",
            "",
        ],
        [
            backend,
            f"YML feed, {2 * rows} offers",
            f"{feed_s:.2f} s, {feed_size / 2**20:.1f} MB XML, {feed_mem:.1f} MB peak",
            f"{feed_base:.2f} s, {base_size / 2**20:.1f} MB XML, {base_mem:.1f} MB peak",
            f"{feed_s / feed_base:.2f}",
        ],
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        results += await run(backend, args.rows)
    print(
        table(
            f"bench/channels.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores",
            ["backend", "what", "Firma", "baseline", "ratio"],
            results,
        )
    )
    print("\nratio: import = Firma rows/s ÷ baseline rows/s; feed = Firma time ÷ baseline time")


if __name__ == "__main__":
    asyncio.run(main())
