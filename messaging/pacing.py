"""Time for the campaign worker: a pacer that spaces sends at a rate, over a timer
that is either the real one or the injected clock (tests and benchmarks drive a
minute of sending without waiting a minute; the clock's time is also what the
database records as ``sent_at``, so the rate is measured from the rows)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Protocol

from crm_core.context import FrozenClock


class Timer(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ClockTimer:
    """Time that passes only when someone sleeps: sleeping moves the frozen clock."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            target = self.monotonic() + seconds
            # Several senders may sleep at once: time only moves forward.
            if target > self.monotonic():
                self.clock.advance(timedelta(seconds=target - self.monotonic()))
        await asyncio.sleep(0)


class Pacer:
    """Hands out send slots ``1/rate`` apart. Idle time does not bank a burst; a
    ``hold`` (Telegram's 429 retry_after) pushes every later slot back."""

    def __init__(self, rate: float, timer: Timer) -> None:
        self.timer = timer
        self.rate = rate
        self.next_at = timer.monotonic()

    def set_rate(self, rate: float) -> None:
        self.rate = rate

    async def wait(self) -> None:
        at = self.timer.monotonic()
        slot = max(self.next_at, at)
        self.next_at = slot + 1.0 / self.rate
        if slot > at:
            await self.timer.sleep(slot - at)

    def hold(self, seconds: float) -> None:
        self.next_at = max(self.next_at, self.timer.monotonic() + seconds)
