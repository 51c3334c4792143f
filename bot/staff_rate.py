"""The bot's global send rate (~25 messages/s per bot; Telegram refuses beyond ~30).

Both limiters hand out send *slots* ``1/rate`` apart and make the caller wait for its
slot, so bursts are smoothed instead of refused. ``LocalRate`` serves one process;
``RedisRate`` keeps the next free slot in Redis (one Lua script, Redis's own clock),
so every ``firma worker`` and ``firma serve`` of one bot shares the same budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

DEFAULT_RATE = 25.0

Sleep = Callable[[float], Awaitable[Any]]


class SendRate(Protocol):
    async def wait(self) -> None:
        """Return when this send may go."""


class LocalRate:
    """Slots for one process (no Redis configured)."""

    def __init__(
        self,
        per_second: float = DEFAULT_RATE,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0

    def reserve(self) -> float:
        """Take the next slot; returns how long to wait for it (seconds)."""
        at = self._monotonic()
        slot = max(self._next, at)
        self._next = slot + self.interval
        return slot - at

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)


# KEYS[1]: the bot's key; ARGV[1]: the interval in microseconds.
# Returns {slot, now} in microseconds of Redis's clock; the caller waits slot - now.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(nxt, now)
redis.call('SET', KEYS[1], string.format('%.0f', slot + tonumber(ARGV[1])), 'PX', 60000)
return {string.format('%.0f', slot), string.format('%.0f', now)}
"""


class RedisRate:
    """Slots shared by every process of one bot through Redis."""

    def __init__(
        self,
        redis_url: str,
        *,
        bot_id: str,
        per_second: float = DEFAULT_RATE,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        from redis.asyncio import Redis

        self.client = Redis.from_url(redis_url)
        self.key = f"firma:telegram:send-slot:{bot_id}"
        self.interval_us = int(1_000_000 / per_second)
        self._sleep = sleep
        self._script = self.client.register_script(_RESERVE)

    async def reserve(self) -> tuple[int, int]:
        """Take the next shared slot: (slot, now) in microseconds of Redis's clock."""
        slot, at = await self._script(keys=[self.key], args=[self.interval_us])
        return int(slot), int(at)

    async def wait(self) -> None:
        slot, at = await self.reserve()
        if slot > at:
            await self._sleep((slot - at) / 1_000_000)

    async def close(self) -> None:
        await self.client.aclose()


def bot_id_of(token: str) -> str:
    """The public part of a bot token (its numeric id), never the secret."""
    return token.split(":", 1)[0]


def create_rate(
    redis_url: str | None, *, token: str, per_second: float = DEFAULT_RATE
) -> LocalRate | RedisRate:
    if redis_url:
        return RedisRate(redis_url, bot_id=bot_id_of(token), per_second=per_second)
    return LocalRate(per_second)
