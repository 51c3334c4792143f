from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.jsonable import jsonable
from crm_core.models import OutboxEvent, OutboxStatus

DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def emit(session: AsyncSession, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Add a domain event to the current transaction (it exists only if the change commits)."""
    at = now(session)
    row = OutboxEvent(
        topic=topic,
        payload=jsonable(payload),
        status=OutboxStatus.PENDING,
        attempts=0,
        available_at=at,
        created_at=at,
    )
    session.add(row)
    return row


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    topics: Sequence[str] | None = None,
) -> list[ClaimedEvent]:
    """Lease up to ``limit`` due events to ``worker``; no two workers get the same row."""
    at = now(session)
    due = or_(
        (OutboxEvent.status == OutboxStatus.PENDING) & (OutboxEvent.available_at <= at),
        (OutboxEvent.status == OutboxStatus.PROCESSING) & (OutboxEvent.locked_until < at),
    )
    pick = select(OutboxEvent.id).where(due).order_by(OutboxEvent.id).limit(limit)
    if topics:
        pick = pick.where(OutboxEvent.topic.in_(list(topics)))
    if session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(await session.scalars(pick))
    if not ids:
        return []
    result = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(ids))
        .values(
            status=OutboxStatus.PROCESSING,
            locked_until=at + lease,
            locked_by=worker,
            attempts=OutboxEvent.attempts + 1,
        )
        .returning(
            OutboxEvent.id,
            OutboxEvent.topic,
            OutboxEvent.payload,
            OutboxEvent.attempts,
            OutboxEvent.created_at,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = [ClaimedEvent(*row) for row in result]
    claimed.sort(key=lambda e: e.id)
    return claimed


async def complete(session: AsyncSession, ids: Sequence[int], *, worker: str) -> int:
    """Mark events done; only rows still leased to ``worker`` count."""
    if not ids:
        return 0
    result = await session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id.in_(list(ids)),
            OutboxEvent.status == OutboxStatus.PROCESSING,
            OutboxEvent.locked_by == worker,
        )
        .values(status=OutboxStatus.DONE, processed_at=now(session), locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0) * 5, 3600))


async def fail(
    session: AsyncSession,
    event_id: int,
    *,
    worker: str,
    error: str,
    max_attempts: int = MAX_ATTEMPTS,
) -> OutboxStatus:
    """Record a failed delivery: retry later with backoff, or ``dead`` after too many."""
    row = await session.get(OutboxEvent, event_id, with_for_update=True)
    if row is None or row.locked_by != worker or row.status != OutboxStatus.PROCESSING:
        return row.status if row else OutboxStatus.DEAD
    row.last_error = error[:4000]
    row.locked_until = None
    if row.attempts >= max_attempts:
        row.status = OutboxStatus.DEAD
    else:
        row.status = OutboxStatus.PENDING
        row.available_at = now(session) + _backoff(row.attempts)
    return row.status


async def purge_done(session: AsyncSession, *, older_than: timedelta) -> int:
    """Delete delivered events older than ``older_than`` (the table stays small)."""
    cutoff = now(session) - older_than
    result = await session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.status == OutboxStatus.DONE, OutboxEvent.processed_at < cutoff
        )
    )
    return result.rowcount


async def stats(session: AsyncSession) -> dict[str, int]:
    """Count of events per status."""
    rows = await session.execute(
        select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)
    )
    counts = {status.value: 0 for status in OutboxStatus}
    for status, count in rows:
        counts[OutboxStatus(status).value] = count
    return counts
