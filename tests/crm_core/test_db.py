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
