"""The durable queue of messages to employees (``staff_notifications``).

``plan`` writes a ``pending`` row per (key, employee) with the rendered message; it is
committed before anything is sent, and the unique ``(key, employee_id)`` makes a
second plan of the same thing (a redelivered outbox event, a second worker) a no-op.
``claim_due`` leases due rows to one sender (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
the sender marks each row right after its send, so a sender that dies loses nothing
(the lease runs out, the row is sent again) and repeats at most what was in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import NotificationStatus, StaffNotification

DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
_T = StaffNotification.__table__


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A leased row: everything the sender needs without another query."""

    id: int
    employee_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    language: str
    due_at: datetime | None
    attempts: int
    topic: str


async def _relax_durability(session: AsyncSession) -> None:
    """Planning and leasing need not wait for the disk (PostgreSQL): a plan lost in a
    crash is planned again from its redelivered outbox event or still-due reminder, a
    lost lease only makes the row claimable again. Marking a row sent does wait: a lost
    mark would send the message twice. Once per transaction."""
    if session.bind.dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if session.info.get("staff_relaxed") is transaction:
        return
    await session.execute(text("SET LOCAL synchronous_commit = off"))
    session.info["staff_relaxed"] = transaction


def _insert(session: AsyncSession):
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(_T)


async def plan(
    session: AsyncSession,
    *,
    key: str,
    employee_id: int,
    chat_id: int,
    topic: str,
    text: str,
    reply_markup: dict[str, Any] | None = None,
    language: str = "ru",
    outbox_event_id: int | None = None,
    lead_id: int | None = None,
    order_id: int | None = None,
    due_at: datetime | None = None,
    available_at: datetime | None = None,
) -> int | None:
    """Queue one message; returns its row id, or None when this (key, employee) is
    already queued or sent (then nothing changes)."""
    await _relax_durability(session)
    at = now(session)
    statement = (
        _insert(session)
        .values(
            key=key,
            employee_id=employee_id,
            chat_id=chat_id,
            topic=topic,
            text=text,
            reply_markup=reply_markup,
            language=language,
            outbox_event_id=outbox_event_id,
            lead_id=lead_id,
            order_id=order_id,
            due_at=due_at,
            available_at=available_at or at,
            status=NotificationStatus.PENDING,
            attempts=0,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["key", "employee_id"])
        .returning(_T.c.id)
    )
    return await session.scalar(statement)


async def claim_due(
    session: AsyncSession, *, sender: str, limit: int = 50, lease: timedelta = DEFAULT_LEASE
) -> list[Outgoing]:
    """Lease up to ``limit`` due rows to ``sender``; no two senders get one row."""
    del sender  # the lease is the lock; the name is for logs
    await _relax_durability(session)
    at = now(session)
    t = _T
    due = and_(
        t.c.status == NotificationStatus.PENDING,
        t.c.available_at <= at,
        or_(t.c.locked_until.is_(None), t.c.locked_until < at),
    )
    pick = select(t.c.id).where(due).order_by(t.c.available_at, t.c.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    result = await session.execute(
        update(t)
        .where(t.c.id.in_(pick.scalar_subquery()))
        .values(locked_until=at + lease, attempts=t.c.attempts + 1)
        .returning(
            t.c.id,
            t.c.employee_id,
            t.c.chat_id,
            t.c.text,
            t.c.reply_markup,
            t.c.language,
            t.c.due_at,
            t.c.attempts,
            t.c.topic,
        )
    )
    rows = [Outgoing(*row) for row in result]
    rows.sort(key=lambda r: r.id)
    return rows


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending row becomes due (to sleep until then)."""
    t = _T
    return await session.scalar(
        select(t.c.available_at)
        .where(t.c.status == NotificationStatus.PENDING)
        .order_by(t.c.available_at)
        .limit(1)
    )


async def mark_sent(session: AsyncSession, row_id: int, *, message_id: int) -> bool:
    """Record the Telegram message; False when the row was already settled."""
    result = await session.execute(
        update(_T)
        .where(_T.c.id == row_id, _T.c.status == NotificationStatus.PENDING)
        .values(
            status=NotificationStatus.SENT,
            message_id=message_id,
            sent_at=now(session),
            locked_until=None,
        )
    )
    return result.rowcount == 1


async def mark_sent_many(session: AsyncSession, sent: Sequence[tuple[int, int]]) -> None:
    """``mark_sent`` for several (row id, message id) pairs in one statement."""
    if not sent:
        return
    await session.execute(
        update(_T)
        .where(_T.c.id == bindparam("row_id"), _T.c.status == NotificationStatus.PENDING)
        .values(
            status=NotificationStatus.SENT,
            message_id=bindparam("sent_message_id"),
            sent_at=now(session),
            locked_until=None,
        ),
        [{"row_id": r, "sent_message_id": m} for r, m in sent],
    )


async def mark_failed(session: AsyncSession, row_id: int, *, error: str = "") -> None:
    """Telegram refused for good (403, or too many attempts): never retried."""
    await session.execute(
        update(_T)
        .where(_T.c.id == row_id, _T.c.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.FAILED, last_error=error[:500], locked_until=None)
    )


async def retry_later(session: AsyncSession, row_id: int, *, after: timedelta, error: str) -> None:
    """A passing failure (network, 5xx, 429): due again after ``after``."""
    at = now(session)
    await session.execute(
        update(_T)
        .where(_T.c.id == row_id, _T.c.status == NotificationStatus.PENDING)
        .values(available_at=at + after, locked_until=None, last_error=error[:500])
    )


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 10 min."""
    return timedelta(seconds=min(2**attempts, 600))


async def lead_messages(session: AsyncSession, lead_id: int) -> list[StaffNotification]:
    """The sent messages about a lead, to edit when someone takes it."""
    rows = await session.scalars(
        select(StaffNotification)
        .where(
            StaffNotification.lead_id == lead_id,
            StaffNotification.status == NotificationStatus.SENT,
        )
        .order_by(StaffNotification.id)
    )
    return list(rows)


async def counts(session: AsyncSession, ids: Sequence[int] | None = None) -> dict[str, int]:
    """Rows per status (tests, the benchmark)."""
    from sqlalchemy import func

    query = select(_T.c.status, func.count()).group_by(_T.c.status)
    if ids is not None:
        query = query.where(_T.c.id.in_(list(ids)))
    found = {status.value: 0 for status in NotificationStatus}
    for status, count in await session.execute(query):
        found[NotificationStatus(status).value] = count
    return found
