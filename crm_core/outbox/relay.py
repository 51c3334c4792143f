from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock
from crm_core.db import unit_of_work
from crm_core.outbox.service import DEFAULT_LEASE, ClaimedEvent, claim, complete, fail

log = logging.getLogger(__name__)

Subscriber = Callable[[ClaimedEvent], Awaitable[None]]


class OutboxRelay:
    """Claims due events and hands each to the subscribers registered for its topic.

    A subscriber must be idempotent per event id: after a crash between handling and
    marking done, the lease runs out and the event is handed over again.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        subscribers: Mapping[str, Sequence[Subscriber]],
        *,
        clock: Clock | None = None,
        batch_size: int = 50,
        lease: timedelta = DEFAULT_LEASE,
        idle_sleep: float = 0.5,
        worker_id: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._subscribers = {topic: list(subs) for topic, subs in subscribers.items()}
        self._clock = clock
        self.batch_size = batch_size
        self.lease = lease
        self.idle_sleep = idle_sleep
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wakeup = asyncio.Event()
        # Delivered but not yet marked: settled with the next claim (one transaction).
        self._done: list[int] = []
        self._failed: list[tuple[int, str]] = []

    def subscribers_for(self, topic: str) -> list[Subscriber]:
        return self._subscribers.get(topic, []) + self._subscribers.get("*", [])

    def wake(self) -> None:
        """Tell an idle loop that new events were just committed."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Settle the last batch and claim the next in one transaction, then deliver it.

        Returns how many events were handed to subscribers (0: the outbox is idle).
        """
        async with unit_of_work(self._sessions, actor=SYSTEM, clock=self._clock) as session:
            await self._settle(session)
            batch = await claim(
                session, worker=self.worker_id, limit=self.batch_size, lease=self.lease
            )
        for item in batch:
            try:
                for subscriber in self.subscribers_for(item.topic):
                    await subscriber(item)
            except Exception as exc:  # a subscriber's failure must not stop the loop
                log.exception("outbox event %s (%s) failed", item.id, item.topic)
                self._failed.append((item.id, f"{type(exc).__name__}: {exc}"))
            else:
                self._done.append(item.id)
        if not batch:
            return 0
        if len(batch) < self.batch_size:
            await self.flush()  # the outbox is drained: settle now, not on the next poll
        return len(batch)

    async def flush(self) -> None:
        """Settle what was delivered but not yet marked (call before stopping)."""
        if not self._done and not self._failed:
            return
        async with unit_of_work(self._sessions, actor=SYSTEM, clock=self._clock) as session:
            await self._settle(session)

    async def _settle(self, session) -> None:
        done, failed = self._done, self._failed
        self._done, self._failed = [], []
        await complete(session, done, worker=self.worker_id)
        for event_id, error in failed:
            await fail(session, event_id, worker=self.worker_id, error=error)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox relay iteration failed")
                handled = 0
            if handled:
                continue
            self._wakeup.clear()
            waiters = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._wakeup.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters, timeout=self.idle_sleep, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
        await self.flush()
