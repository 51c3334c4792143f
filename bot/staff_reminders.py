"""The worker's reminder step: due reminders of events and tasks → the employee's chat.

``claim_reminders`` marks a batch as reminded and the messages go out in the same
transaction, so a worker that dies before committing leaves them due for the next pass
(only those already sent in that batch may repeat). A send that fails for a network
reason releases its reminder for the next pass; a 403 marks the employee unreachable.
Batches are small because on SQLite the transaction holds the write lock while sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import pick_language, translator
from bot.staff_keyboards import reminder_actions
from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.employees.invites import set_employee_unreachable
from crm_core.events.reminders import Reminder, claim_reminders
from crm_core.models import Employee
from crm_core.notifications.actions import counterpart, release_reminder

log = logging.getLogger(__name__)


class ReminderSender:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        batch_size: int = 20,
        late_after: timedelta = timedelta(minutes=5),
        interval: float = 10.0,
        default_language: str = "ru",
    ) -> None:
        self.bot, self.sessions, self.clock = bot, sessions, clock
        self.batch_size, self.late_after, self.interval = batch_size, late_after, interval
        self.default_language = default_language

    async def _text(self, session: AsyncSession, r: Reminder, employee: Employee) -> str:
        tr = translator(pick_language(employee.language, default=self.default_language))
        tz = ZoneInfo(employee.timezone)
        at = (r.at or r.remind_at).astimezone(tz).strftime("%d.%m %H:%M")
        what = tr("reminder_event" if r.kind == "event" else "reminder_task")
        lines = [tr("reminder", what=what, subject=r.subject or "—", at=at)]
        name, phone = await counterpart(session, customer_id=r.customer_id, lead_id=r.lead_id)
        if name or phone:
            lines.append(tr("reminder_with", name=name or "", phone=phone or "").strip())
        if now(session) - r.remind_at > self.late_after:
            due = r.remind_at.astimezone(tz).strftime("%d.%m %H:%M")
            lines.append(tr("reminder_late", due=due))
        return "\n".join(lines)

    async def run_once(self) -> int:
        """Send one batch of due reminders; returns how many were claimed."""
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            claimed = await claim_reminders(session, limit=self.batch_size)
            for r in claimed:
                employee = await session.get(Employee, r.employee_id) if r.employee_id else None
                if employee is None or employee.telegram_user_id is None:
                    continue  # nobody to tell in Telegram: the calendar still shows it
                if employee.telegram_unreachable or not employee.active:
                    continue
                tr = translator(pick_language(employee.language, default=self.default_language))
                text = await self._text(session, r, employee)
                try:
                    await self.bot.send_message(
                        employee.telegram_user_id,
                        text,
                        reply_markup=reminder_actions(tr, r.kind, r.id),
                    )
                except TelegramForbiddenError:
                    await set_employee_unreachable(session, employee.telegram_user_id)
                except (TelegramAPIError, OSError, TimeoutError):
                    log.warning("reminder %s %s not sent; retried next pass", r.kind, r.id)
                    await release_reminder(session, kind=r.kind, item_id=r.id)
            return len(claimed)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("reminder pass failed")
                claimed = 0
            if claimed >= self.batch_size:
                continue  # more are due: no pause
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
