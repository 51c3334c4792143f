"""Benchmark of the CRM core (issue: the shared core). Run: .venv/bin/python bench/core.py

1. Lead intake: N leads, one use-case call (one transaction) each, with de-duplication,
   beside raw INSERTs of the same rows through the same driver, one transaction each.
2. Outbox: claim-and-complete throughput on PostgreSQL, one row and 50 rows at a time,
   with 1, 2 and 4 claimer processes; every id must be handled exactly once.
3. Funnel and plan-vs-actual over 1,000,000 generated orders, beside a hand-written
   GROUP BY of the same figures.
4. GET /api/v1/orders?limit=50 (newest first, filtered by state) over the same orders.

Machines here are noisy: read the ratios; absolute times drift.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.common import PG_URL, fresh_engine, p50, table, timed
from crm_core.context import SYSTEM
from crm_core.db import session_factory, unit_of_work

RESULTS: list[str] = []


def say(block: str) -> None:
    print(block, flush=True)
    RESULTS.append(block)


# ---------------------------------------------------------------- 1. lead intake


def lead_inputs(n: int, seed: int = 7) -> list[dict]:
    """n lead submissions; about 10 % repeat an earlier phone in another spelling."""
    rnd = random.Random(seed)
    names = ["Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий"]
    rows, phones = [], []
    for i in range(n):
        if phones and rnd.random() < 0.10:
            digits = rnd.choice(phones)
            phone = f"8 ({digits[0:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:10]}"
        else:
            digits = f"9{i:09d}"[:10]
            phones.append(digits)
            phone = f"+7{digits}"
        rows.append(
            {
                "name": f"{rnd.choice(names)} {i}",
                "phones": [phone],
                "emails": [f"lead{i}@mail.ru"] if rnd.random() < 0.5 else [],
                "source": "web_form",
                "utm_source": "yandex",
                "comment": "Перезвоните, пожалуйста",
            }
        )
    return rows


async def bench_intake(backend: str, n: int) -> list[object]:
    from crm_core.leads.service import intake_lead

    engine = await fresh_engine(backend)
    sessions = session_factory(engine)
    inputs = lead_inputs(n)
    async with engine.connect() as conn:
        state_id = (await conn.execute(text("SELECT min(id) FROM lead_states"))).scalar()

    # Baseline: the same rows as plain INSERTs, one transaction each, same driver.
    now = datetime.now(UTC).replace(tzinfo=None if backend == "sqlite" else UTC)
    insert = text(
        "INSERT INTO leads (name, source, result, state_id, utm_source, comment, "
        "created_at, updated_at) VALUES (:name, 'web_form', 'open', :state, 'yandex', "
        ":comment, :now, :now)"
    )
    start = time.perf_counter()
    for row in inputs:
        async with engine.begin() as conn:
            await conn.execute(
                insert,
                {"name": row["name"], "state": state_id, "comment": row["comment"], "now": now},
            )
    raw = time.perf_counter() - start
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM leads"))

    start = time.perf_counter()
    merged = 0
    for row in inputs:
        async with unit_of_work(sessions, actor=SYSTEM) as session:
            result = await intake_lead(session, **row)
            merged += result.merged
    took = time.perf_counter() - start
    async with engine.connect() as conn:
        leads = (await conn.execute(text("SELECT count(*) FROM leads"))).scalar()
    await engine.dispose()
    rate, raw_rate = n / took, n / raw
    return [backend, n, leads, merged, f"{rate:,.0f}", f"{raw_rate:,.0f}", f"{rate / raw_rate:.2f}"]


# ---------------------------------------------------------------- 2. outbox


async def bench_outbox(events: int) -> list[list[object]]:
    rows = []
    for batch in (1, 50):
        # One row at a time is ~50x slower: a quarter of the events keeps the run short.
        count = events // 4 if batch == 1 else events
        for claimers in (1, 2, 4):
            engine = await fresh_engine("postgresql")
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO outbox_events (topic, payload, status, attempts, "
                        "available_at, created_at) SELECT 'bench.ping', "
                        "jsonb_build_object('i', g), 'pending', 0, now(), now() "
                        "FROM generate_series(1, :n) g"
                    ),
                    {"n": count},
                )
            await engine.dispose()
            tmp = Path(tempfile.mkdtemp(prefix="firma-outbox-"))
            start_at = time.time() + 3
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(Path(__file__).parent / "outbox_worker.py"),
                    PG_URL,
                    str(batch),
                    str(tmp / f"{i}.json"),
                    str(start_at),
                    env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
                )
                for i in range(claimers)
            ]
            for proc in procs:
                await proc.wait()
            results = [json.loads((tmp / f"{i}.json").read_text()) for i in range(claimers)]
            ids = [i for r in results for i in r["ids"]]
            elapsed = max(r["elapsed"] for r in results)
            lost = count - len(set(ids))
            doubled = len(ids) - len(set(ids))
            rows.append([batch, claimers, count, f"{count / elapsed:,.0f}", lost, doubled])
            say(f"  outbox batch={batch} claimers={claimers}: {count / elapsed:,.0f} rows/s")
    return rows


# ---------------------------------------------------------------- 3/4. orders at scale


async def generate_orders(engine, n: int) -> dict:
    """Bulk-generate customers, employees, leads, orders and payments in SQL."""
    backend = engine.dialect.name
    async with engine.begin() as conn:
        states = (
            await conn.execute(text("SELECT id, category FROM order_states ORDER BY position"))
        ).all()
        kind_id = (await conn.execute(text("SELECT id FROM order_kinds"))).scalar()
        await conn.execute(
            text(
                "INSERT INTO employees (name, email, role, timezone, language, agenda_hour, "
                "active, telegram_unreachable, created_at) VALUES "
                + ",".join(
                    f"('Менеджер {i}', 'm{i}@firma-demo.ru', 'manager', 'Europe/Moscow', 'ru', 9,"
                    f" true, false, '2025-01-01 00:00:00')"
                    for i in range(1, 6)
                )
            )
        )
        emp_ids = [r[0] for r in (await conn.execute(text("SELECT id FROM employees")))]
        state_case = " ".join(f"WHEN {i} THEN {sid}" for i, (sid, _cat) in enumerate(states))
        cat_case = " ".join(f"WHEN {i} THEN '{cat}'" for i, (_sid, cat) in enumerate(states))
        emp_case = " ".join(f"WHEN {i} THEN {eid}" for i, eid in enumerate(emp_ids))
        customers = max(1000, n // 20)
        if backend == "postgresql":
            series = "generate_series(1, :n) AS s(x)"
            day = (
                "(timestamptz '2025-01-01 00:00:00+00' + (x % 730) * interval '1 day' "
                "+ (x % 1440) * interval '1 minute')"
            )
            due = f"({day} + interval '14 days')"
            cte = ""
        else:
            series = "cnt"
            day = (
                "(datetime('2025-01-01', '+' || (x % 730) || ' days', "
                "'+' || (x % 1440) || ' minutes') || '.000000')"
            )
            due = "(datetime('2025-01-15', '+' || (x % 730) || ' days') || '.000000')"
            cte = (
                "WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < :n) "
            )
        await conn.execute(
            text(
                f"{cte}INSERT INTO customers (name, kind, orders_count, total_spent, "
                "telegram_unreachable, created_at, updated_at) "
                f"SELECT 'Покупатель ' || x, 'person', 0, 0, false, {day}, {day} FROM {series}"
            ),
            {"n": customers},
        )
        first_customer = (await conn.execute(text("SELECT min(id) FROM customers"))).scalar()
        total = "(1000 + (x * 37) % 90000)"
        await conn.execute(
            text(
                f"{cte}INSERT INTO orders (number, date, customer_id, kind_id, state_id, "
                "category, total, vat_amount, paid_amount, shipped_amount, due_at, channel, "
                "responsible_id, created_at, updated_at) "
                f"SELECT 'B-' || x, {day}, {first_customer} + (x % {customers}), {kind_id}, "
                f"CASE x % {len(states)} {state_case} END, "
                f"CASE x % {len(states)} {cat_case} END, {total}, 0, "
                f"CASE WHEN x % 3 = 0 THEN {total} ELSE 0 END, 0, {due}, 'manual', "
                f"CASE x % {len(emp_ids)} {emp_case} END, {day}, {day} FROM {series}"
            ),
            {"n": n},
        )
        first_order = (await conn.execute(text("SELECT min(id) FROM orders"))).scalar()
        await conn.execute(
            text(
                f"{cte}INSERT INTO payments (order_id, amount, method, paid_at, created_at) "
                f"SELECT {first_order} + x - 1, {total}, 'bank', {day}, {day} "
                f"FROM {series} WHERE x % 3 = 0"
            ),
            {"n": n},
        )
        lead_state = (await conn.execute(text("SELECT min(id) FROM lead_states"))).scalar()
        await conn.execute(
            text(
                f"{cte}INSERT INTO leads (name, source, result, state_id, customer_id, "
                "converted_at, created_at, updated_at) "
                f"SELECT 'Лид ' || x, 'web_form', CASE WHEN x % 4 = 0 THEN 'converted' "
                f"ELSE 'open' END, {lead_state}, CASE WHEN x % 4 = 0 THEN "
                f"{first_customer} + (x % {customers}) END, CASE WHEN x % 4 = 0 THEN {day} END,"
                f" {day}, {day} FROM {series}"
            ),
            {"n": n // 10},
        )
        plans = ",".join(
            f"('{y}-{m:02d}-01', {eid}, NULL, 1500000)"
            for y in (2025, 2026)
            for m in range(1, 13)
            for eid in emp_ids
        )
        await conn.execute(
            text(
                f"INSERT INTO sales_plans (period, employee_id, product_group_id, amount) "
                f"VALUES {plans}"
            )
        )
        if backend == "sqlite":
            await conn.execute(text("ANALYZE"))
    if backend == "postgresql":
        # A freshly bulk-loaded table has no visibility map yet; production has autovacuum.
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    return {"kind_id": kind_id, "state_ids": [s for s, _ in states]}


async def bench_scale(backend: str, n: int, repeat: int) -> tuple[list, list]:
    import httpx

    from crm_core.analytics.service import plan_vs_actual, sales_funnel
    from crm_core.employees.tokens import create_api_token
    from firma.app import Runtime, create_app
    from firma.settings import Settings

    engine = await fresh_engine(backend)
    began = time.perf_counter()
    meta = await generate_orders(engine, n)
    say(f"  {backend}: generated {n:,} orders in {time.perf_counter() - began:.1f}s")
    sessions = session_factory(engine)
    d_from, d_to = date(2025, 1, 1), date(2025, 12, 31)
    params = {
        "kind": meta["kind_id"],
        "f": datetime(2024, 12, 31, 21, tzinfo=UTC),
        "t": datetime(2025, 12, 31, 21, tzinfo=UTC),
    }
    if backend == "sqlite":
        params = {
            **params,
            "f": params["f"].replace(tzinfo=None),
            "t": params["t"].replace(tzinfo=None),
        }

    async def funnel_service():
        async with sessions() as s:
            await sales_funnel(s, date_from=d_from, date_to=d_to, kind_id=meta["kind_id"])

    async def funnel_sql():
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT state_id, count(*), sum(total) FROM orders WHERE kind_id = :kind "
                    "AND date >= :f AND date < :t GROUP BY state_id"
                ),
                params,
            )
            await conn.execute(
                text(
                    "SELECT count(*), count(customer_id) FROM leads "
                    "WHERE created_at >= :f AND created_at < :t"
                ),
                params,
            )
            await conn.execute(
                text(
                    "SELECT count(DISTINCT o.customer_id), "
                    "count(DISTINCT CASE WHEN o.paid_amount >= o.total AND o.total > 0 "
                    "THEN o.customer_id END) FROM orders o WHERE o.customer_id IN "
                    "(SELECT customer_id FROM leads WHERE created_at >= :f AND created_at < :t "
                    "AND customer_id IS NOT NULL)"
                ),
                params,
            )

    async def plan_service():
        async with sessions() as s:
            await plan_vs_actual(s, period="2025-06")

    month = {"f": datetime(2025, 5, 31, 21, tzinfo=UTC), "t": datetime(2025, 6, 30, 21, tzinfo=UTC)}
    if backend == "sqlite":
        month = {k: v.replace(tzinfo=None) for k, v in month.items()}

    async def plan_sql():
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT responsible_id, sum(total) FROM orders WHERE date >= :f AND "
                    "date < :t AND category <> 'cancelled' GROUP BY responsible_id"
                ),
                month,
            )
            await conn.execute(
                text(
                    "SELECT o.responsible_id, sum(p.amount) FROM payments p JOIN orders o "
                    "ON o.id = p.order_id WHERE p.paid_at >= :f AND p.paid_at < :t "
                    "GROUP BY o.responsible_id"
                ),
                month,
            )
            await conn.execute(
                text(
                    "SELECT employee_id, sum(amount) FROM sales_plans WHERE period = :p "
                    "GROUP BY employee_id"
                ),
                {"p": date(2025, 6, 1)},
            )

    analytics = []
    for name, service, baseline in (
        ("funnel, a year", funnel_service, funnel_sql),
        ("plan vs actual, a month", plan_service, plan_sql),
    ):
        s_times = await timed(service, repeat)
        b_times = await timed(baseline, repeat)
        analytics.append(
            [
                backend,
                name,
                f"{p50(s_times) * 1000:.0f}",
                f"{p50(b_times) * 1000:.0f}",
                f"{p50(s_times) / p50(b_times):.2f}",
            ]
        )

    async with sessions() as s:
        token = (await create_api_token(s, name="bench")).token
        await s.commit()
    runtime = Runtime(Settings(database_url=str(engine.url)), engine, sessions)
    app = create_app(runtime)
    api_rows = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench/api/v1",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        for label, query in (
            ("newest 50", "limit=50"),
            ("newest 50, one state", f"limit=50&state={meta['state_ids'][1]}"),
            ("page 100 of a state", f"limit=50&offset=5000&state={meta['state_ids'][2]}"),
        ):

            async def get(query=query):
                response = await http.get(f"/orders?{query}")
                assert response.status_code == 200, response.text

            times = await timed(get, repeat * 3)
            api_rows.append(
                [backend, label, f"{p50(times) * 1000:.1f}", f"{max(times) * 1000:.1f}"]
            )
    await engine.dispose()
    return analytics, api_rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--outbox-events", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip", default="", help="comma list of: intake,outbox,scale")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    skip = set(args.skip.split(","))
    say(f"Firma core benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")

    if "intake" not in skip:
        rows = [await bench_intake(b, args.leads) for b in backends]
        say(
            table(
                "Lead intake (one transaction per lead, with de-duplication)",
                ["db", "submitted", "leads", "merged", "leads/s", "raw INSERT/s", "ratio"],
                rows,
            )
        )
    if "outbox" not in skip and "postgresql" in backends:
        rows = await bench_outbox(args.outbox_events)
        say(
            table(
                "Outbox claim-and-complete on PostgreSQL",
                ["batch", "claimers", "events", "rows/s", "lost", "doubled"],
                rows,
            )
        )
    if "scale" not in skip:
        analytics, api_rows = [], []
        for b in backends:
            a, r = await bench_scale(b, args.orders, args.repeat)
            analytics += a
            api_rows += r
        say(
            table(
                f"Analytics over {args.orders:,} orders (p50, ms)",
                ["db", "figure", "service", "hand SQL", "ratio"],
                analytics,
            )
        )
        say(
            table(
                f"GET /api/v1/orders over {args.orders:,} orders (ms)",
                ["db", "query", "p50", "max"],
                api_rows,
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
