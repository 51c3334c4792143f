"""Playing the demo firm's history in order of time.

Every step of the demo (a lead arrives, an order is paid, a call is made) is put on
a timeline at the moment it happened and performed through the core services with
the session's clock set to that moment and the acting employee as the actor. So
``created_at``, history entries, document numbers and outbox events come out as a
real firm's would, and ids grow with time. Steps may schedule follow-up steps; no
step runs after "today" (the clock the entry point gave), later moments are clamped.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import Actor, ActorKind, FrozenClock

FIRM_ZONE = ZoneInfo("Europe/Moscow")
Step = Callable[[], Awaitable[Any]]


@dataclass(order=True)
class _Entry:
    when: datetime
    seq: int
    run: Step = field(compare=False)
    actor: Actor | None = field(compare=False)


class Timeline:
    """A queue of steps by time; ``play`` performs them in order."""

    def __init__(self, session: AsyncSession, today: datetime) -> None:
        self.session = session
        self.today = today
        self.local_today: date = today.astimezone(FIRM_ZONE).date()
        self._queue: list[_Entry] = []
        self._seq = itertools.count()
        self._current: datetime | None = None
        self.staff: dict[int, str] = {}

    def moment(self, day: int, hour: int = 10, minute: int = 0) -> datetime:
        """``day`` days from today (negative: ago) at a firm's local wall-clock time."""
        local = datetime.combine(self.local_today + timedelta(days=day), time(hour, minute))
        return local.replace(tzinfo=FIRM_ZONE).astimezone(self.today.tzinfo)

    def at(self, when: datetime, run: Step, *, by: int | None = None) -> datetime:
        """Schedule ``run`` at ``when`` (not later than today, not before the current step),
        performed by employee ``by`` (the system when None); returns the moment used."""
        when = min(when, self.today)
        if self._current is not None:
            when = max(when, self._current)
        actor = Actor(ActorKind.EMPLOYEE, by, self.staff.get(by, "")) if by else None
        heapq.heappush(self._queue, _Entry(when, next(self._seq), run, actor))
        return when

    async def play(self) -> None:
        info = self.session.info
        saved = info.get("clock"), info.get("actor")
        clock = FrozenClock(self.today)
        info["clock"] = clock
        try:
            while self._queue:
                entry = heapq.heappop(self._queue)
                self._current = entry.when
                clock.set(entry.when)
                info["actor"] = entry.actor or saved[1]
                await entry.run()
        finally:
            info["clock"], info["actor"] = saved
            self._current = None
