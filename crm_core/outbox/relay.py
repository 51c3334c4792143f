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

    def subscribers_for(self, topic: str) -> list[Subscriber]:
        return self._subscribers.get(topic, []) + self._subscribers.get("*", [])

    def wake(self) -> None:
        """Tell an idle loop that new events were just committed."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Claim one batch, deliver it, settle it; return how many events were handled."""
        async with unit_of_work(self._sessions, actor=SYSTEM, clock=self._clock) as session:
            batch = await claim(
                session, worker=self.worker_id, limit=self.batch_size, lease=self.lease
            )
        if not batch:
            return 0
        done: list[int] = []
        failures: list[tuple[int, str]] = []
        for item in batch:
            try:
                for subscriber in self.subscribers_for(item.topic):
                    await subscriber(item)
            except Exception as exc:  # a subscriber's failure must not stop the loop
                log.exception("outbox event %s (%s) failed", item.id, item.topic)
                failures.append((item.id, f"{type(exc).__name__}: {exc}"))
            else:
                done.append(item.id)
        async with unit_of_work(self._sessions, actor=SYSTEM, clock=self._clock) as session:
            await complete(session, done, worker=self.worker_id)
            for event_id, error in failures:
                await fail(session, event_id, worker=self.worker_id, error=error)
        return len(batch)

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
