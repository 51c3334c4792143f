"""Time for the campaign worker: the real timer or the injected clock (tests and
benchmarks drive a minute of sending without waiting a minute; the clock's time is
also what the database records as ``sent_at``, so the rate is measured from the rows).
The sends are spaced by ``crm_core.rate``'s slots, which sleep on this timer."""

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
