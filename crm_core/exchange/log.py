"""The exchange log: one row per file (or query) per exchange session, with counts,
errors and the resume position of a file imported in steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import ExchangeLog

MAX_ERRORS = 100


async def open_log(
    session: AsyncSession,
    *,
    peer: str,
    direction: str,
    type: str,
    mode: str,
    filename: str | None = None,
    session_key: str | None = None,
) -> ExchangeLog:
    """The running entry of this file in this exchange session, or a new one."""
    entry = await session.scalar(
        select(ExchangeLog)
        .where(
            ExchangeLog.peer == peer,
            ExchangeLog.session_key == session_key,
            ExchangeLog.filename == filename,
            ExchangeLog.mode == mode,
            ExchangeLog.status == "running",
        )
        .order_by(ExchangeLog.id.desc())
        .limit(1)
    )
    if entry is None:
        entry = ExchangeLog(
            peer=peer,
            direction=direction,
            type=type,
            mode=mode,
            filename=filename,
            session_key=session_key,
            status="running",
            position=0,
            counts={},
            errors=[],
            started_at=now(session),
        )
        session.add(entry)
        await session.flush()
    return entry


def record_step(
    entry: ExchangeLog,
    *,
    position: int,
    counts: Mapping[str, int],
    errors: list[dict[str, Any]],
    done: bool,
    at,
) -> None:
    """Add one step's counts and errors; finish the entry when the file is done."""
    total = dict(entry.counts or {})
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value
    entry.counts = total  # new objects: JSON columns do not track in-place changes
    entry.errors = [*(entry.errors or []), *errors][:MAX_ERRORS]
    entry.position = position
    if done:
        entry.status = "success"
        entry.finished_at = at


async def log_failure(
    session: AsyncSession, *, entry_id: int | None, message: str, **fields: Any
) -> ExchangeLog:
    """Mark an entry failed (or write a failed one) in a transaction of its own:
    the failed step itself was rolled back."""
    entry = await session.get(ExchangeLog, entry_id) if entry_id else None
    if entry is None:
        entry = ExchangeLog(
            status="failure", position=0, counts={}, errors=[], started_at=now(session), **fields
        )
        session.add(entry)
    entry.status = "failure"
    entry.message = message[:2000]
    entry.finished_at = now(session)
    await session.flush()
    return entry


async def list_exchanges(
    session: AsyncSession,
    *,
    limit: int = 50,
    offset: int = 0,
    peer: str | None = None,
    store_id: int | None = None,
) -> tuple[list[ExchangeLog], int]:
    """The newest first; ``peer`` ("1c", "store") and ``store_id`` narrow it."""
    conditions = []
    if peer:
        conditions.append(ExchangeLog.peer == peer)
    if store_id is not None:
        conditions.append(ExchangeLog.store_id == store_id)
    total = await session.scalar(select(func.count()).select_from(ExchangeLog).where(*conditions))
    rows = await session.scalars(
        select(ExchangeLog)
        .where(*conditions)
        .order_by(ExchangeLog.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
