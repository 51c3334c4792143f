"""Transactions as the engine sets them up."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from crm_core.db import READ_ONLY
from crm_core.models import LeadState


async def test_a_read_only_connection_reads_beside_a_writer(engine, uow):
    """On SQLite writers take the lock at BEGIN; readers marked read-only must not
    queue behind them (a health check or a browsing page while a import runs)."""
    async with uow() as writer:
        await writer.execute(text("UPDATE lead_states SET position = position"))  # holds it
        async with engine.connect() as conn:
            conn = await conn.execution_options(**READ_ONLY)
            count = await asyncio.wait_for(
                conn.scalar(select(func.count()).select_from(LeadState)), timeout=2
            )
    assert count >= 2


async def test_a_sqlite_file_gets_the_asked_pool_and_memory_its_single_connection(tmp_path):
    """SQLAlchemy's default SQLite pool (5 + 10) is below what one process has in flight;
    a file database is sized as PostgreSQL's, an in-memory one keeps one connection."""
    from crm_core.db import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", pool_size=20)
    try:
        assert engine.sync_engine.pool.size() == 20
        assert engine.sync_engine.pool._max_overflow == 20
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        await engine.dispose()
    memory = create_engine("sqlite+aiosqlite:///:memory:", pool_size=20)
    try:
        async with memory.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await memory.dispose()
