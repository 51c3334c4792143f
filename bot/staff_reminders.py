"""The worker's reminder step: due reminders of events and tasks → the send queue.

``claim_reminders`` marks a batch as reminded and, in the same transaction, one row per
reminder is queued in ``staff_notifications`` (key ``reminder:<kind>:<id>:<minute>``);
nothing is sent inside that transaction. A worker that dies before committing leaves
the reminders due; after committing, the rows are there and ``bot.staff_sender`` sends
them — also after a restart, then marked late. Two workers never queue one reminder
twice: the claim is a conditional UPDATE and the row key is unique per employee.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.staff_keyboards import reminder_actions
from bot.staff_plan import language_of, queue, reachable
from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.events.reminders import Reminder, claim_reminders
from crm_core.models import Employee
from crm_core.notifications.actions import counterpart, next_reminder_at

log = logging.getLogger(__name__)


def reminder_key(r: Reminder) -> str:
    return f"reminder:{r.kind}:{r.id}:{int(r.remind_at.timestamp())}"


class ReminderPlanner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        batch_size: int = 200,
        interval: float = 10.0,
        default_language: str = "ru",
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        self.batch_size, self.interval = batch_size, interval
        self.default_language = default_language
        self.on_queued = on_queued

    async def _text(self, session: AsyncSession, r: Reminder, employee: Employee) -> str:
        _ = translator(language_of(employee, self.default_language))
        tz = ZoneInfo(employee.timezone)
        at = (r.at or r.remind_at).astimezone(tz).strftime("%d.%m %H:%M")
        what = _("Event") if r.kind == "event" else _("Task")
        lines = [_("🔔 {what}: {subject}\n🕒 {at}", what=what, subject=r.subject or "—", at=at)]
        name, phone = await counterpart(session, customer_id=r.customer_id, lead_id=r.lead_id)
        if name or phone:
            lines.append(_("With: {name} {phone}", name=name or "", phone=phone or "").strip())
        return "\n".join(lines)

    async def run_once(self) -> int:
        """Claim one batch of due reminders and queue their messages; returns how many
        reminders were claimed. A late one is marked late by the sender."""
        queued = 0
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            claimed = await claim_reminders(session, limit=self.batch_size)
            employees = {}
            for r in claimed:
                if r.employee_id is None:
                    continue  # nobody's calendar: nothing to tell in Telegram
                if r.employee_id not in employees:
                    employees[r.employee_id] = await session.get(Employee, r.employee_id)
                employee = employees[r.employee_id]
                if not reachable(employee):
                    continue  # the calendar and the agenda still show it
                language = language_of(employee, self.default_language)
                row = await queue(
                    session,
                    employee,
                    key=reminder_key(r),
                    topic=f"reminder.{r.kind}",
                    text=await self._text(session, r, employee),
                    markup=reminder_actions(translator(language), r.kind, r.id),
                    language=language,
                    lead_id=r.lead_id,
                    due_at=r.remind_at,
                )
                queued += row is not None
        if queued and self.on_queued is not None:
            self.on_queued()
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
                await asyncio.wait_for(stop.wait(), timeout=await self._pause())

    async def _pause(self) -> float:
        """Until the next reminder falls due, at most ``interval`` seconds."""
        try:
            async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
                upcoming = await next_reminder_at(session)
                at = now(session)
        except Exception:
            log.exception("looking up the next reminder failed")
            return self.interval
        if upcoming is None:
            return self.interval
        return max(0.05, min(self.interval, (upcoming - at).total_seconds()))
