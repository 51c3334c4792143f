"""The staff side of the worker in one piece: the sender and the periodic planners.

``firma worker`` and ``firma serve`` run ``StaffDesk.run_forever``: the sender loop
(woken at once when a planner in this process queues rows, else polling), reminders
every ``reminder_interval`` s, overdue orders and daily agendas every ``check_interval`` s,
and every ``cleanup_interval`` s the pushes and staff messages older than ``keep_days``
(``bot/cleanup.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cleanup import DEFAULT_KEEP_DAYS, ReserveCleanup
from bot.staff_agenda import AgendaPlanner
from bot.staff_orders import OverdueCheck
from bot.staff_rate import SendRate
from bot.staff_reminders import ReminderPlanner
from bot.staff_sender import Doorbell, StaffSender
from crm_core.context import Clock

log = logging.getLogger(__name__)


class StaffDesk:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        office_url: str,
        rate: SendRate,
        bell: Doorbell | None = None,
        clock: Clock | None = None,
        default_language: str = "ru",
        reminder_interval: float = 10.0,
        check_interval: float = 60.0,
        concurrency: int = 4,
        keep_days: int = DEFAULT_KEEP_DAYS,
        cleanup_interval: float = 3600.0,
    ) -> None:
        self.bell = bell or Doorbell()
        self.sender = StaffSender(
            bot, sessions, clock=clock, rate=rate, bell=self.bell, concurrency=concurrency
        )
        self.reminders = ReminderPlanner(
            sessions,
            clock=clock,
            interval=reminder_interval,
            default_language=default_language,
            on_queued=self.bell.ring,
        )
        self.overdue = OverdueCheck(
            sessions, office_url=office_url, clock=clock, default_language=default_language
        )
        self.agenda = AgendaPlanner(
            sessions, clock=clock, default_language=default_language, on_queued=self.bell.ring
        )
        self.check_interval = check_interval
        self.cleanup = ReserveCleanup(
            sessions, clock=clock, keep_days=keep_days, interval=cleanup_interval
        )

    async def checks_once(self) -> int:
        queued = await self.overdue.run_once() + await self.agenda.run_once()
        if queued:
            self.bell.ring()
        return queued

    async def _every(self, seconds: float, step: Callable[[], Awaitable], stop) -> None:
        while not stop.is_set():
            try:
                await step()
            except Exception:
                log.exception("staff check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        await asyncio.gather(
            self.sender.run_forever(stop),
            self.reminders.run_forever(stop),
            self._every(self.check_interval, self.checks_once, stop),
            self.cleanup.run_forever(stop),
        )
