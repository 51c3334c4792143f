"""The bot's reserve rows, trimmed: old ``telegram_pushes`` and settled
``staff_notifications`` go after ``keep_days`` (default 30), in small batches.

Those rows are what keeps a push or a manager's message from going out twice when the
outbox hands an event over again, so a row is deleted only when no second delivery can
come: old enough, *and* its outbox event is done or already purged. An event still
pending, being processed or dead (which a person may requeue) keeps its rows however
old they are. A staff row still waiting to be sent is never touched (it is work, not a
record). Each batch is its own short transaction: the pushes and the sender never wait
long behind the cleanup, and two workers cleaning at once only delete fewer rows each.

``StaffDesk`` runs it every ``interval`` seconds in the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.models import (
    NotificationStatus,
    OutboxEvent,
    OutboxStatus,
    StaffNotification,
    TelegramPush,
)

log = logging.getLogger(__name__)

DEFAULT_KEEP_DAYS = 30
DEFAULT_BATCH = 500
# The staff planners look back at their own rows (``OverdueCheck``: orders due in the
# last 7 days it told already; the agenda: 2 days): keep more than that, or they would
# tell it again.
MIN_KEEP_DAYS = 8


def _event_live(event_id: ColumnElement) -> ColumnElement[bool]:
    """The outbox may still hand this event over (it exists and is not done)."""
    return exists().where(OutboxEvent.id == event_id, OutboxEvent.status != OutboxStatus.DONE)


@dataclass(frozen=True, slots=True)
class Swept:
    pushes: int = 0
    staff: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return self.pushes + self.staff


class ReserveCleanup:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        keep_days: int = DEFAULT_KEEP_DAYS,
        batch_size: int = DEFAULT_BATCH,
        interval: float = 3600.0,
    ) -> None:
        if keep_days < MIN_KEEP_DAYS:
            raise ValueError(f"keep_days must be at least {MIN_KEEP_DAYS}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.sessions, self.clock = sessions, clock
        self.keep = timedelta(days=keep_days)
        self.batch_size, self.interval = batch_size, interval

    async def _batch(self, table, age: ColumnElement, *conditions: ColumnElement) -> int:
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            cutoff = now(session) - self.keep
            # Oldest first by primary key: the old rows are at the start of the table,
            # so the pick stops early without an index on the age column.
            pick = (
                select(table.id)
                .where(age < cutoff, *conditions)
                .order_by(table.id)
                .limit(self.batch_size)
            )
            ids = list(await session.scalars(pick))
            if not ids:
                return 0
            await session.execute(
                delete(table)
                .where(table.id.in_(ids), age < cutoff, *conditions)
                .execution_options(synchronize_session=False)
            )
            return len(ids)

    async def _sweep(self, table, age, *conditions) -> tuple[int, int]:
        deleted = batches = 0
        while True:
            n = await self._batch(table, age, *conditions)
            deleted += n
            batches += n > 0
            if n < self.batch_size:
                return deleted, batches

    async def run_once(self) -> Swept:
        """Delete every row past ``keep_days`` that no redelivery can need."""
        pushes, b1 = await self._sweep(
            TelegramPush, TelegramPush.attempted_at, ~_event_live(TelegramPush.event_id)
        )
        staff, b2 = await self._sweep(
            StaffNotification,
            StaffNotification.created_at,
            StaffNotification.status != NotificationStatus.PENDING,
            (StaffNotification.outbox_event_id.is_(None))
            | ~_event_live(StaffNotification.outbox_event_id),
        )
        if pushes or staff:
            log.info("cleanup: %s old pushes, %s old staff messages deleted", pushes, staff)
        return Swept(pushes=pushes, staff=staff, batches=b1 + b2)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("cleanup of old pushes failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
