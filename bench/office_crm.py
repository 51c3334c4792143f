"""Benchmark of the leads, customers and campaigns pages. Run:
.venv/bin/python bench/office_crm.py [--backends postgresql,sqlite] [--leads N]

With 100,000 leads (five board columns, a phone each, five managers), 50,000 customers
(a phone each, every tenth tagged) and one customer with 200 events and 20 orders:
server time p50/p99 of the kanban, the lead list (first page, a phone search, a name
search, page 100), a lead card, the customer list (first page, a phone search, a tag),
the customer card and the campaigns list — signed in as an administrator, through the
whole ASGI app in-process (httpx's ASGI transport: the time is the server's). Beside them
the baseline measured in the same run through the same stack: ``GET /healthz`` and a
signed-in page that reads almost nothing (``/office/profile``).

On PostgreSQL the name search is measured twice in the same run: without and then with
the pg_trgm GIN indexes on ``leads.name`` and ``leads.company`` (dropped before the first
round whatever the migrations made, built before the second).

Aim (issue 7): every page p99 ≤ 200 ms on PostgreSQL, ≤ 400 ms on SQLite.
PostgreSQL: ``FIRMA_BENCH_DATABASE_URL`` (default database ``firma_h7_bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h7_bench"
)

from sqlalchemy import text

from bench.common import fresh_engine, p50, p99, table, timed
from crm_core.context import SYSTEM
from crm_core.db import session_factory, unit_of_work

PASSWORD = "bench-admin-2026"
EMAIL = "bench-crm@firma-demo.ru"
RESULTS: list[str] = []


def say(block: str) -> None:
    print(block, flush=True)
    RESULTS.append(block)


def _series(backend: str) -> tuple[str, str, str]:
    """(CTE, FROM, created_at expression) producing x = 1..:n on either database."""
    if backend == "postgresql":
        day = "(timestamptz '2025-01-01 00:00:00+00' + (x % 700) * interval '1 day')"
        return "", "generate_series(1, :n) AS s(x)", day
    cte = "WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < :n) "
    return cte, "cnt", "(datetime('2025-01-01', '+' || (x % 700) || ' days') || '.000000')"


async def generate(engine, leads: int) -> None:
    """Bulk rows in SQL: employees, lead states, leads and customers with phones, tags."""
    backend = engine.dialect.name
    cte, series, day = _series(backend)
    customers = leads // 2
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO employees (name, email, role, timezone, language, agenda_hour, "
                "active, telegram_unreachable, created_at) VALUES "
                + ",".join(
                    f"('Менеджер {i}', 'crm{i}@firma-demo.ru', 'manager', 'Europe/Moscow', "
                    "'ru', 9, true, false, '2025-01-01 00:00:00')"
                    for i in range(1, 6)
                )
            )
        )
        for position, (code, name) in enumerate(
            [("call", "Звонок"), ("offer", "КП отправлено"), ("deal", "Переговоры")], start=2
        ):
            await conn.execute(
                text(
                    "INSERT INTO lead_states (code, name, position, is_default, active) "
                    "VALUES (:c, :n, :p, false, true)"
                ),
                {"c": code, "n": name, "p": position},
            )
        emp = [r[0] for r in await conn.execute(text("SELECT id FROM employees ORDER BY id"))]
        states = [
            r[0] for r in await conn.execute(text("SELECT id FROM lead_states ORDER BY position"))
        ]
        emp_case = " ".join(f"WHEN {i} THEN {e}" for i, e in enumerate(emp))
        state_case = " ".join(f"WHEN {i} THEN {s}" for i, s in enumerate(states))
        await conn.execute(
            text(
                f"{cte}INSERT INTO leads (name, company, source, result, state_id, "
                "responsible_id, created_at, updated_at) "
                f"SELECT 'Лид ' || x, 'ООО Компания ' || (x % 5000), 'web_form', "
                f"CASE WHEN x % 5 = 0 THEN 'converted' ELSE 'open' END, "
                f"CASE x % {len(states)} {state_case} END, CASE x % {len(emp)} {emp_case} END, "
                f"{day}, {day} FROM {series}"
            ),
            {"n": leads},
        )
        first_lead = (await conn.execute(text("SELECT min(id) FROM leads"))).scalar()
        await conn.execute(
            text(
                f"{cte}INSERT INTO contact_points (kind, value, lead_id, created_at) "
                f"SELECT 'phone', '+7916' || substr('000000' || x, -7, 7), "
                f"{first_lead} + x - 1, {day} FROM {series}"
                if backend == "sqlite"
                else f"INSERT INTO contact_points (kind, value, lead_id, created_at) "
                f"SELECT 'phone', '+7916' || lpad(x::text, 7, '0'), {first_lead} + x - 1, "
                f"{day} FROM {series}"
            ),
            {"n": leads},
        )
        await conn.execute(
            text(
                f"{cte}INSERT INTO customers (name, kind, orders_count, total_spent, "
                "telegram_unreachable, responsible_id, created_at, updated_at) "
                f"SELECT 'Покупатель ' || x, 'person', 0, 0, false, "
                f"CASE x % {len(emp)} {emp_case} END, {day}, {day} FROM {series}"
            ),
            {"n": customers},
        )
        first = (await conn.execute(text("SELECT min(id) FROM customers"))).scalar()
        phone = (
            "'+7926' || substr('000000' || x, -7, 7)"
            if backend == "sqlite"
            else "'+7926' || lpad(x::text, 7, '0')"
        )
        await conn.execute(
            text(
                f"{cte}INSERT INTO contact_points (kind, value, customer_id, created_at) "
                f"SELECT 'phone', {phone}, {first} + x - 1, {day} FROM {series}"
            ),
            {"n": customers},
        )
        await conn.execute(
            text(
                f"{cte}INSERT INTO customer_tags (customer_id, tag) "
                f"SELECT {first} + x - 1, 'vip' FROM {series} WHERE x % 10 = 0"
            ),
            {"n": customers},
        )


async def seed_card(sessions) -> tuple[int, int]:
    """The administrator, and a customer with 200 events and 20 orders; a lead's id."""
    from crm_core.customers.service import create_customer
    from crm_core.employees.service import create_employee
    from crm_core.events.service import create_event
    from crm_core.orders.service import create_order

    async with unit_of_work(sessions, actor=SYSTEM) as s:
        admin = await create_employee(
            s, name="Бенч Админ", email=EMAIL, role="admin", password=PASSWORD
        )
        customer = await create_customer(
            s, name="Постоянный клиент", phones=["+79990000001"], tags=["vip"]
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
                customer_id=customer.id,
            )
        for _ in range(20):
            await create_order(s, customer_id=customer.id)
        lead_id = (await s.execute(text("SELECT max(id) FROM leads"))).scalar()
    return customer.id, lead_id


async def _sign_in(http) -> None:
    page = await http.get("/office/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    response = await http.post(
        "/office/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


async def bench_pages(backend: str, leads: int, repeat: int) -> list[list[object]]:
    import httpx

    from firma.app import Runtime, create_app
    from firma.settings import Settings

    engine = await fresh_engine(backend)
    began = time.perf_counter()
    await generate(engine, leads)
    sessions = session_factory(engine)
    customer_id, lead_id = await seed_card(sessions)
    if backend == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    say(
        f"  {backend}: {leads:,} leads, {leads // 2:,} customers generated "
        f"in {time.perf_counter() - began:.0f} s"
    )
    runtime = Runtime(Settings(database_url=str(engine.url)), engine, sessions)
    app = create_app(runtime, with_bot=False)
    pages = [
        ("baseline: GET /healthz", "/healthz"),
        ("baseline: /office/profile", "/office/profile"),
        ("kanban, all leads", "/office/leads/board?who=all"),
        ("lead list, page 1", "/office/leads?who=all"),
        ("lead list, phone search", "/office/leads?who=all&q=%2B79160012345"),
        ("lead list, name search", "/office/leads?who=all&q=Лид+4242"),
        # Letters only: also matched against the emails, an OR with a sub-query.
        ("lead list, name search, letters", "/office/leads?who=all&q=Иванова"),
        ("lead list, page 100", "/office/leads?who=all&page=100"),
        ("lead card", f"/office/leads/{lead_id}"),
        ("customer list, page 1", "/office/customers?who=all"),
        ("customer list, phone search", "/office/customers?who=all&q=89260012345"),
        ("customer list, tag vip", "/office/customers?who=all&tags=vip"),
        ("customer card, 200 events", f"/office/customers/{customer_id}"),
        ("campaigns list", "/office/campaigns"),
    ]
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
            if label == "baseline: GET /healthz" and backend == "postgresql":
                # "Before": whatever the migrations made, no trigram index on the names.
                await _trigram_indexes(engine, present=False)
        if backend == "postgresql":
            # "After", in the same run: the pg_trgm GIN indexes on the searched names.
            began = time.perf_counter()
            await _trigram_indexes(engine, present=True)
            print(f"    trigram indexes built in {time.perf_counter() - began:.1f} s")
            for label, url in pages:
                if "name search" not in label:
                    continue

                async def get(url=url):
                    response = await http.get(url)
                    assert response.status_code == 200, (url, response.status_code)

                times = await timed(get, repeat)
                p50_ms, p99_ms = p50(times) * 1000, p99(times) * 1000
                label = f"{label}, pg_trgm GIN"
                rows.append(
                    [backend, label, f"{p50_ms:.1f}", f"{p99_ms:.1f}", f"{p50_ms / base:.1f}×"]
                )
                print(f"    {label}: p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms", flush=True)
    await engine.dispose()
    return rows


TRIGRAM_INDEXES = {"ix_leads_name_trgm": "name", "ix_leads_company_trgm": "company"}


async def _trigram_indexes(engine, *, present: bool) -> None:
    """Drop or make the GIN trigram indexes a name search of leads uses (``ILIKE '%x%'``
    over name OR company: both need one for a BitmapOr, else it is a full scan)."""
    async with engine.begin() as conn:
        if present:
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        for name, column in TRIGRAM_INDEXES.items():
            if present:
                await conn.execute(
                    text(
                        f"CREATE INDEX IF NOT EXISTS {name} ON leads "
                        f"USING gin ({column} gin_trgm_ops)"
                    )
                )
            else:
                await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        await conn.execute(text("ANALYZE leads"))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    say(
        f"Firma CRM pages benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores"
    )
    rows = []
    for backend in [b for b in args.backends.split(",") if b]:
        rows += await bench_pages(backend, args.leads, args.repeat)
    say(
        table(
            f"Leads/customers pages over {args.leads:,} leads ({args.repeat} requests each, ms)",
            ["db", "page", "p50", "p99", "p50 / healthz"],
            rows,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
