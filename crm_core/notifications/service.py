"""Exactly-once bookkeeping for notifications to employees.

``reserve`` writes a ``pending`` row per (outbox event, employee) before the send and
``mark_sent`` records the Telegram message after it. The unique constraint settles
two workers racing for one event: the loser's insert fails and it sends nothing.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import NotificationStatus, StaffNotification


async def reserve(
    session: AsyncSession,
    *,
    outbox_event_id: int,
    employee_id: int,
    chat_id: int,
    topic: str,
    lead_id: int | None = None,
) -> int | None:
    """The delivery row to send under, or None when this recipient already got it."""
    existing = await session.scalar(
        select(StaffNotification).where(
            StaffNotification.outbox_event_id == outbox_event_id,
            StaffNotification.employee_id == employee_id,
        )
    )
    if existing is not None:
        # pending: the previous attempt died between reserving and marking; send again.
        return None if existing.status != NotificationStatus.PENDING else existing.id
    row = StaffNotification(
        outbox_event_id=outbox_event_id,
        employee_id=employee_id,
        chat_id=chat_id,
        topic=topic,
        lead_id=lead_id,
        status=NotificationStatus.PENDING,
        created_at=now(session),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None  # another worker reserved it first
    return row.id


async def mark_sent(session: AsyncSession, row_id: int, *, message_id: int) -> None:
    await session.execute(
        update(StaffNotification)
        .where(StaffNotification.id == row_id)
        .values(status=NotificationStatus.SENT, message_id=message_id, sent_at=now(session))
    )


async def mark_failed(session: AsyncSession, row_id: int) -> None:
    """Telegram refused for good (403): never retried for this event."""
    await session.execute(
        update(StaffNotification)
        .where(StaffNotification.id == row_id)
        .values(status=NotificationStatus.FAILED)
    )


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
