from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.jsonable import jsonable
from crm_core.models import OutboxEvent, OutboxStatus

DEFAULT_LEASE = timedelta(seconds=60)
_TABLE = OutboxEvent.__table__
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def _relax_durability(session: AsyncSession) -> None:
    """Outbox bookkeeping need not wait for the disk: if a lease or a "done" mark is
    lost in a crash, the lease runs out and the event is delivered again, which
    subscribers tolerate (they are idempotent). Affects only this transaction."""
    await session.execute(text("SET LOCAL synchronous_commit = off"))


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
    t = _TABLE
    due = or_(
        (t.c.status == OutboxStatus.PENDING) & (t.c.available_at <= at),
        (t.c.status == OutboxStatus.PROCESSING) & (t.c.locked_until < at),
    )
    pick = select(t.c.id).where(due).order_by(t.c.id).limit(limit)
    if topics:
        pick = pick.where(t.c.topic.in_(list(topics)))
    if _is_postgres(session):
        pick = pick.with_for_update(skip_locked=True)
        await _relax_durability(session)
    # One statement: pick and lease together, so a batch costs one round trip.
    # Core statements on the table, not ORM ones: this is the worker's hot path.
    result = await session.execute(
        update(t)
        .where(t.c.id.in_(pick.scalar_subquery()))
        .values(
            status=OutboxStatus.PROCESSING,
            locked_until=at + lease,
            locked_by=worker,
            attempts=t.c.attempts + 1,
        )
        .returning(t.c.id, t.c.topic, t.c.payload, t.c.attempts, t.c.created_at)
    )
    claimed = [ClaimedEvent(*row) for row in result]
    claimed.sort(key=lambda e: e.id)
    return claimed


async def complete(session: AsyncSession, ids: Sequence[int], *, worker: str) -> int:
    """Mark events done; only rows still leased to ``worker`` count."""
    if not ids:
        return 0
    if _is_postgres(session):
        await _relax_durability(session)
    t = _TABLE
    result = await session.execute(
        update(t)
        .where(
            t.c.id.in_(list(ids)),
            t.c.status == OutboxStatus.PROCESSING,
            t.c.locked_by == worker,
        )
        .values(status=OutboxStatus.DONE, processed_at=now(session), locked_until=None)
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


async def mark_as_history(session: AsyncSession, *, after_id: int) -> int:
    """Mark events newer than ``after_id`` done without delivering them: for data
    loaded as the past (the demo firm), which nobody should be notified of today."""
    t = _TABLE
    result = await session.execute(
        update(t)
        .where(t.c.id > after_id, t.c.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DONE, processed_at=now(session))
    )
    return result.rowcount


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
