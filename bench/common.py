"""Shared set-up for the benchmarks: fresh databases, timing, tables."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_core import migrate
from crm_core.db import create_engine, session_factory
from crm_core.reference import ensure_reference_data

PG_URL = os.environ.get(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_bench"
)


async def ensure_pg_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", parsed.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


async def fresh_engine(backend: str, *, pool_size: int = 10) -> AsyncEngine:
    """A migrated, empty database with the reference data."""
    if backend == "postgresql":
        await ensure_pg_database(PG_URL)
        engine = create_engine(PG_URL, pool_size=pool_size)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        path = Path(tempfile.mkdtemp(prefix="firma-bench-")) / "bench.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as session:
        await ensure_reference_data(session)
        await session.commit()
    return engine


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    """Wall times (seconds) of ``repeat`` calls, after one warm-up call."""
    await fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return times


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def table(title: str, header: list[str], rows: list[list[object]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)) + " |"
        for r in rows
    ]
    return "\n".join([f"\n{title}\n", line, sep, *body])
