"""One writer per process for the submissions: group commit.

A request hands its submission to a bounded queue and waits. One writer task (started
by the first submission, ending when the queue is empty) takes up to ``batch_size``
queued submissions and writes them in ONE transaction (``crm_core.forms.
receive_submissions``): together, through the core's batch intake, a fixed number of
statements for the batch; if that fails, each in its own savepoint, so one that fails
is kept, ``failed`` with its error, for the worker's retry, and spoils none of the
others. Every visitor is
answered only after the commit, so "accepted" still means durable. The waiting is
shielded: a visitor who hangs up does not cancel the batch.

If the batch cannot be committed, each of its submissions is written again in its own
transaction (idempotency keys make a repeat harmless). A full queue is refused at once
(``WriterBusy``, answered 503 with ``Retry-After``) rather than holding the visitor.
``aclose`` (the app's shutdown) lets the writer drain the queue; anything submitted
after it is written at once in its own transaction.

Why: one transaction per submission spent most of a submission's server time on
opening, committing and (SQLite) queueing for the write lock; one writer and one
commit per batch spend it once per batch, and the batch intake spends the look-ups and
inserts once per batch too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import Clock, bind
from crm_core.forms import Incoming, Stored, receive_submissions

log = logging.getLogger(__name__)

Managers = Callable[[AsyncSession], Awaitable[list[int]]]


class WriterBusy(Exception):
    """The queue is full: the visitor should try again in a moment."""


@dataclasses.dataclass(slots=True)
class _Job:
    item: Incoming
    future: asyncio.Future[Stored]


def _settle(future: asyncio.Future, result: Any = None, error: BaseException | None = None):
    if future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _quiet(future: asyncio.Future) -> None:
    """A visitor who hung up never reads an error: do not log it as unretrieved."""
    if not future.cancelled():
        future.exception()


class SubmissionWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        timezone: str,
        managers: Managers,
        queue_size: int = 1000,
        batch_size: int = 100,
    ) -> None:
        self.sessions, self.clock, self.timezone = sessions, clock, timezone
        self.managers = managers
        self.queue_size, self.batch_size = queue_size, batch_size
        self._queue: asyncio.Queue[_Job] | None = None  # made in the serving loop
        self._task: asyncio.Task | None = None
        self._closed = False
        self.batches = 0  # committed batches, for tests and curiosity

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def submit(self, item: Incoming) -> Stored:
        """Write the submission; return once it is committed (or raise)."""
        if self._closed:
            return await self._alone(item)
        if self._queue is None:
            self._queue = asyncio.Queue(max(1, self.queue_size))
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_quiet)
        try:
            self._queue.put_nowait(_Job(item, future))
        except asyncio.QueueFull:
            raise WriterBusy from None
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="webforms-writer")
        return await asyncio.shield(future)

    async def aclose(self) -> None:
        """Stop taking submissions into the queue and wait until it is drained."""
        self._closed = True
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        try:
            while not queue.empty():
                count = min(queue.qsize(), max(1, self.batch_size))
                batch = [queue.get_nowait() for _ in range(count)]
                try:
                    await self._write(batch)
                except BaseException as exc:  # cancelled: no visitor waits forever
                    while not queue.empty():
                        batch.append(queue.get_nowait())
                    for job in batch:
                        _settle(job.future, error=exc)
                    raise
        finally:
            self._task = None  # (no await since the queue was seen empty)

    async def _prepare(self, session: AsyncSession, items: list[Incoming]) -> list[Incoming]:
        """Give the round-robin its managers, read once per batch."""
        if all(item.form.responsible_id for item in items):
            return items
        managers = await self.managers(session)
        return [
            item if item.form.responsible_id else dataclasses.replace(item, managers=managers)
            for item in items
        ]

    async def _write(self, batch: list[_Job]) -> None:
        try:
            async with self.sessions() as session:
                bind(session, actor=None, clock=self.clock)
                items = await self._prepare(session, [job.item for job in batch])
                results = await receive_submissions(session, items, timezone=self.timezone)
                await session.commit()
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].future, error=exc)
                return
            log.exception("a batch of %d submissions failed; writing each alone", len(batch))
            for job in batch:
                await self._settle_alone(job)
            return
        self.batches += 1
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                await self._settle_alone(job)  # its own transaction, after the commit
            else:
                _settle(job.future, result)

    async def _settle_alone(self, job: _Job) -> None:
        try:
            _settle(job.future, await self._alone(job.item))
        except Exception as exc:
            _settle(job.future, error=exc)

    async def _alone(self, item: Incoming) -> Stored:
        """One submission in its own transaction."""
        async with self.sessions() as session:
            bind(session, actor=None, clock=self.clock)
            (prepared,) = await self._prepare(session, [item])
            (result,) = await receive_submissions(session, [prepared], timezone=self.timezone)
            if isinstance(result, Exception):
                raise result
            await session.commit()
            return result


__all__ = ["SubmissionWriter", "WriterBusy"]
