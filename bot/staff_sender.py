"""Sends the queued messages to employees (``staff_notifications``), durably.

The planners (new leads and orders from the outbox, reminders, overdue orders, the
daily agenda) only write rows; this loop leases due rows, sends each through the
global rate limit, and marks it right after its send:

- sent → ``sent`` with the Telegram message id (buttons pressed later edit it);
- 403 → ``failed`` and the employee marked unreachable (the API shows it);
- 429 → due again after Telegram's ``retry_after`` (the bot's request middleware has
  already waited out short ones); network errors and 5xx → due again with backoff,
  ``failed`` after ``MAX_ATTEMPTS``; 400 (a message Telegram will never take) → ``failed``;
- a reminder that goes out later than ``late_after`` after its minute says so.

A sender killed mid-batch leaves its rows leased; the lease runs out and another pass
sends them, so nothing is lost and only the messages in flight at the kill (at most
``concurrency``) can arrive twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.staff_rate import LocalRate, SendRate
from crm_core.context import SYSTEM, Clock
from crm_core.db import unit_of_work
from crm_core.employees.invites import set_employee_unreachable
from crm_core.models import Employee
from crm_core.notifications.service import (
    DEFAULT_LEASE,
    MAX_ATTEMPTS,
    Outgoing,
    backoff,
    claim_due,
    mark_failed,
    mark_sent_many,
    retry_later,
)

log = logging.getLogger(__name__)


class Doorbell:
    """Tells an idle sender that rows were just queued (same process)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
        self._event.clear()


class StaffSender:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        rate: SendRate | None = None,
        bell: Doorbell | None = None,
        batch_size: int = 50,
        concurrency: int = 4,
        lease: timedelta = DEFAULT_LEASE,
        late_after: timedelta = timedelta(minutes=5),
        idle: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.bot, self.sessions, self.clock = bot, sessions, clock
        self.rate = rate or LocalRate()
        self._fallback_rate = LocalRate(1 / getattr(self.rate, "interval", 1 / 25))
        self.bell = bell or Doorbell()
        self.batch_size, self.lease, self.idle = batch_size, lease, idle
        self.late_after = late_after
        self._slots = asyncio.Semaphore(concurrency)
        self._marks: list[tuple[int, int, asyncio.Future]] = []
        self._marker: asyncio.Task | None = None
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    async def run_once(self) -> int:
        """Lease one batch of due rows and send them; returns how many were leased."""
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            rows = await claim_due(
                session, sender=self.name, limit=self.batch_size, lease=self.lease
            )
            zones = await self._zones(session, rows)
        if rows:
            await asyncio.gather(*(self._send(row, zones) for row in rows))
        return len(rows)

    async def _zones(self, session: AsyncSession, rows: list[Outgoing]) -> dict[int, str]:
        late = {r.employee_id for r in rows if self._is_late(r)}
        if not late:
            return {}
        found = await session.execute(
            select(Employee.id, Employee.timezone).where(Employee.id.in_(late))
        )
        return {employee_id: tz for employee_id, tz in found}

    def _is_late(self, row: Outgoing) -> bool:
        return row.due_at is not None and self._now() - row.due_at > self.late_after

    def _text(self, row: Outgoing, zones: dict[int, str]) -> str:
        if not self._is_late(row):
            return row.text
        _ = translator(row.language)
        tz = ZoneInfo(zones.get(row.employee_id) or "UTC")
        due = row.due_at.astimezone(tz).strftime("%d.%m %H:%M")
        return f"{row.text}\n{_('⚠️ Late: was due at {due}', due=due)}"

    async def _settle(self, action, *args, **kwargs) -> None:
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            await action(session, *args, **kwargs)

    async def _send(self, row: Outgoing, zones: dict[int, str]) -> None:
        markup = InlineKeyboardMarkup.model_validate(row.reply_markup) if row.reply_markup else None
        async with self._slots:
            await self._pace()
            try:
                sent = await self.bot.send_message(
                    row.chat_id, self._text(row, zones), reply_markup=markup
                )
            except TelegramForbiddenError as exc:
                log.info("employee chat %s blocked the bot", row.chat_id)
                await self._settle(mark_failed, row.id, error=str(exc))
                await self._settle(set_employee_unreachable, row.chat_id)
                return
            except TelegramRetryAfter as exc:
                after = timedelta(seconds=exc.retry_after)
                await self._settle(retry_later, row.id, after=after, error=str(exc))
                return
            except (TelegramServerError, TelegramNetworkError, OSError, TimeoutError) as exc:
                await self._passing_failure(row, exc)
                return
            except TelegramBadRequest as exc:
                log.warning("staff message %s refused: %s", row.id, exc)
                await self._settle(mark_failed, row.id, error=str(exc))
                return
            except TelegramAPIError as exc:
                await self._passing_failure(row, exc)
                return
            await self._mark_sent(row.id, sent.message_id)

    async def _pace(self) -> None:
        try:
            await self.rate.wait()
        except Exception:
            # Redis away: keep this process at the rate on its own rather than stop.
            log.warning("shared send rate unavailable; pacing in process", exc_info=True)
            await self._fallback_rate.wait()

    async def _mark_sent(self, row_id: int, message_id: int) -> None:
        """Group commit: the sends finishing together are marked in one transaction.
        The slot is held until its mark is committed, so at most ``concurrency``
        messages are ever sent and not yet recorded."""
        done = asyncio.get_running_loop().create_future()
        self._marks.append((row_id, message_id, done))
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._write_marks())
        await done

    async def _write_marks(self) -> None:
        while self._marks:
            batch, self._marks = self._marks, []
            try:
                pairs = [(row_id, message_id) for row_id, message_id, _f in batch]
                await self._settle(mark_sent_many, pairs)
            except Exception as exc:
                for *_, done in batch:
                    done.set_exception(exc)
            else:
                for *_, done in batch:
                    done.set_result(None)

    async def _passing_failure(self, row: Outgoing, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if row.attempts >= MAX_ATTEMPTS:
            log.error("staff message %s given up (%d attempts): %s", row.id, row.attempts, error)
            await self._settle(mark_failed, row.id, error=error)
            return
        log.warning("staff message %s not sent (%s); retried", row.id, error)
        await self._settle(retry_later, row.id, after=backoff(row.attempts), error=error)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                leased = await self.run_once()
            except Exception:
                log.exception("staff send pass failed")
                leased = 0
            if leased >= self.batch_size:
                continue
            if stop.is_set():
                break
            await self.bell.wait(self.idle)
