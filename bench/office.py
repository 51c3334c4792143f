"""Benchmark of the back office pages. Run: .venv/bin/python bench/office.py

With 100,000 leads, 50,000 customers and 1,000,000 orders (bulk INSERTs, the generator of
``bench/core.py``) and one customer with 200 events: server time p50/p99 of the pages a
manager opens all day — the leads kanban (first 50 cards per column), the orders journal
(first page, and filtered by an indicator), the customer card, the funnel of a year —
signed in as an administrator, through the whole ASGI app in-process (httpx's ASGI
transport: no network, so the time is the server's). Beside them the baseline measured
in the same run through the same stack: ``GET /healthz`` (one ``SELECT 1``) and a signed-in
page that reads almost nothing (``/office/profile``).

Aim: every page p99 ≤ 200 ms on PostgreSQL, ≤ 400 ms on SQLite.
PostgreSQL: ``FIRMA_BENCH_DATABASE_URL`` (default database ``firma_h8_bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h8_bench"
)

from sqlalchemy import text

from bench.common import fresh_engine, p50, p99, table, timed
from bench.core import generate_orders
from crm_core.context import SYSTEM
from crm_core.db import session_factory, unit_of_work
from crm_core.orders.figures import rebuild_order_figures

PASSWORD = "bench-admin-2026"
RESULTS: list[str] = []


def say(block: str) -> None:
    print(block, flush=True)
    RESULTS.append(block)


async def _seed_office(engine, sessions) -> int:
    """An administrator to sign in as, and 200 events on the first customer's card."""
    from crm_core.employees.service import create_employee
    from crm_core.events.service import create_event

    async with engine.connect() as conn:
        customer_id = (await conn.execute(text("SELECT min(id) FROM customers"))).scalar()
    async with unit_of_work(sessions, actor=SYSTEM) as s:
        admin = await create_employee(
            s, name="Бенч Админ", email="bench@firma-demo.ru", role="admin", password=PASSWORD
        )
        start = datetime(2026, 1, 10, 9, tzinfo=UTC)
        for i in range(200):
            await create_event(
                s,
                kind=("call", "meeting", "email", "sms", "telegram")[i % 5],
                state="completed",
                subject=f"Событие {i}",
                body="Обсудили заказ" if i % 3 == 0 else None,
                starts_at=start - timedelta(hours=7 * i),
                employee_id=admin.id,
                customer_id=customer_id,
            )
    return customer_id


async def _sign_in(http) -> None:
    page = await http.get("/office/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    response = await http.post(
        "/office/login",
        data={"email": "bench@firma-demo.ru", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303, response.text


async def _reused(backend: str, orders: int):
    """The PostgreSQL bench database of an earlier run, when it holds what this run needs."""
    if backend != "postgresql":
        return None
    from bench.common import PG_URL
    from crm_core.db import create_engine

    engine = create_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(text("SELECT count(*) FROM orders"))).scalar()
            admin = (
                await conn.execute(
                    text("SELECT count(*) FROM employees WHERE email = 'bench@firma-demo.ru'")
                )
            ).scalar()
    except Exception:  # no such database or tables yet
        await engine.dispose()
        return None
    if found != orders or not admin:
        await engine.dispose()
        return None
    return engine


async def bench_pages(
    backend: str, orders: int, repeat: int, reuse: bool = False, only: list[str] | None = None
) -> list[list[object]]:
    import httpx

    from firma.app import Runtime, create_app
    from firma.settings import Settings

    began = time.perf_counter()
    engine = await _reused(backend, orders) if reuse else None
    generated = engine is None
    if generated:
        engine = await fresh_engine(backend)
        await generate_orders(engine, orders)
        sessions = session_factory(engine)
        customer_id = await _seed_office(engine, sessions)
    else:
        sessions = session_factory(engine)
        async with engine.connect() as conn:
            customer_id = (await conn.execute(text("SELECT min(id) FROM customers"))).scalar()
    # The bulk generator writes orders around the services: fill their daily figures as
    # migration 0011 does for existing orders (also on reuse, the data may predate them).
    rebuilt = time.perf_counter()
    async with unit_of_work(sessions, actor=SYSTEM) as s:
        figure_rows = await rebuild_order_figures(s)
    say(
        f"  {backend}: order_day_figures rebuilt, {figure_rows:,} rows in "
        f"{time.perf_counter() - rebuilt:.1f} s"
    )
    async with engine.connect() as conn:
        counts = [
            (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar()
            for t in ("leads", "customers", "orders")
        ]
    say(
        f"  {backend}: {counts[0]:,} leads, {counts[1]:,} customers, {counts[2]:,} orders "
        f"{'generated' if generated else 'reused'} in {time.perf_counter() - began:.0f} s"
    )
    runtime = Runtime(Settings(database_url=str(engine.url)), engine, sessions)
    app = create_app(runtime)
    gc.collect()  # as the app's lifespan does under uvicorn (the ASGI transport skips it)
    gc.freeze()
    pages = [
        ("baseline: GET /healthz", "/healthz"),
        ("baseline: /office/profile", "/office/profile"),
        ("kanban /office/leads/board", "/office/leads/board"),
        ("orders journal, page 1", "/office/orders"),
        ("orders journal, overdue", "/office/orders?indicator=overdue"),
        ("orders journal, page 50", "/office/orders?page=50"),
        ("orders journal, by amount", "/office/orders?sort=-amount"),
        ("orders journal, by amount, page 50", "/office/orders?sort=amount&page=50"),
        ("orders journal, by customer", "/office/orders?sort=customer"),
        ("orders journal, by customer, page 50", "/office/orders?sort=-customer&page=50"),
        ("orders journal, overdue by amount", "/office/orders?indicator=overdue&sort=-amount"),
        ("customer card, 200 events", f"/office/customers/{customer_id}"),
        ("funnel of 2025", "/office/analytics/funnel?from=2025-01-01&to=2025-12-31"),
        ("plan vs actual, a month", "/office/analytics/plan?period=2025-06"),
    ]
    if only:
        pages = [p for p in pages if p[0].startswith("baseline") or any(o in p[0] for o in only)]
    rows = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as http:
        await _sign_in(http)
        base = None
        for label, url in pages:

            async def get(url=url):
                response = await http.get(url)
                assert response.status_code == 200, (url, response.status_code)

            times = await timed(get, repeat)
            p50_ms, p99_ms = p50(times) * 1000, p99(times) * 1000
            if base is None:
                base = p50_ms
            rows.append([backend, label, f"{p50_ms:.1f}", f"{p99_ms:.1f}", f"{p50_ms / base:.1f}×"])
            print(f"    {label}: p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms", flush=True)
    await engine.dispose()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument(
        "--reuse", action="store_true", help="PostgreSQL: keep an earlier run's data if it fits"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated parts of page labels (baselines always run)"
    )
    args = parser.parse_args()
    only = [o for o in args.only.split(",") if o]
    say(f"Firma office benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    rows = []
    for backend in [b for b in args.backends.split(",") if b]:
        rows += await bench_pages(backend, args.orders, args.repeat, args.reuse, only)
    say(
        table(
            f"Office pages over {args.orders:,} orders ({args.repeat} requests each, ms)",
            ["db", "page", "p50", "p99", "p50 / healthz"],
            rows,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
