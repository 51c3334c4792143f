"""Status pushes to customers' Telegram, exactly once per (outbox event, chat).

The outbox hands an event over again after a crash or a lost lease, so the push keeps
its own row: reserved (``pending``) in a committed transaction before the message goes
out, marked ``sent`` after. A second delivery of the event finds the row and sends
nothing; only a ``pending`` row whose lease ran out (the sender died before it could
mark it) is tried again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import TelegramPush

PENDING, SENT, BLOCKED = "pending", "sent", "blocked"
PUSH_LEASE = timedelta(minutes=5)


async def reserve_push(
    session: AsyncSession,
    *,
    event_id: int,
    telegram_id: int,
    customer_id: int | None,
    lease: timedelta = PUSH_LEASE,
) -> bool:
    """True when this caller is to send the push; False when it was sent (or is being
    sent) already. Settled by the unique (event, chat) row, not by a read."""
    at = now(session)
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    inserted = await session.scalar(
        dialect.insert(TelegramPush)
        .values(
            event_id=event_id,
            telegram_id=telegram_id,
            customer_id=customer_id,
            status=PENDING,
            attempted_at=at,
        )
        .on_conflict_do_nothing(index_elements=["event_id", "telegram_id"])
        .returning(TelegramPush.id)
    )
    if inserted is not None:
        return True
    retaken = await session.execute(
        update(TelegramPush)
        .where(
            TelegramPush.event_id == event_id,
            TelegramPush.telegram_id == telegram_id,
            TelegramPush.status == PENDING,
            TelegramPush.attempted_at <= at - lease,
        )
        .values(attempted_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(retaken.rowcount)


async def finish_push(
    session: AsyncSession, *, event_id: int, telegram_id: int, status: str = SENT
) -> None:
    """Mark the push ``sent`` (or ``blocked``: Telegram refused with 403, never retried)."""
    await session.execute(
        update(TelegramPush)
        .where(TelegramPush.event_id == event_id, TelegramPush.telegram_id == telegram_id)
        .values(status=status, sent_at=now(session) if status == SENT else None)
        .execution_options(synchronize_session=False)
    )


async def forget_push(session: AsyncSession, *, event_id: int, telegram_id: int) -> None:
    """A send that failed for a passing reason: let the event's next delivery try again."""
    await session.execute(
        update(TelegramPush)
        .where(
            TelegramPush.event_id == event_id,
            TelegramPush.telegram_id == telegram_id,
            TelegramPush.status == PENDING,
        )
        .values(attempted_at=now(session) - PUSH_LEASE * 2)
        .execution_options(synchronize_session=False)
    )


async def push_statuses(session: AsyncSession, event_id: int) -> dict[int, str]:
    """Telegram id → status of the pushes of one event (for tests and support)."""
    rows = await session.execute(
        select(TelegramPush.telegram_id, TelegramPush.status).where(
            TelegramPush.event_id == event_id
        )
    )
    return {telegram_id: status for telegram_id, status in rows}
