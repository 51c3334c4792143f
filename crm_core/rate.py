"""Send rates shared by every process: slots ``1/rate`` apart, in this process or in Redis.

A sender asks for a *slot* under one or more limits (a campaign's msgs/s, and for
Telegram the bot's own ~25/s) and waits until it comes: bursts are smoothed, never
refused, and idle time banks no burst. A slot taken under several limits is the first
instant free under all of them, and it is taken from each at once, so a Telegram
campaign and the bot's staff messages together stay under the bot's limit.

- ``LocalSlots``: one process (no Redis configured, or Redis away).
- ``RedisSlots`` (``FIRMA_REDIS_URL``): the next free slot of each limit is one Redis
  key, reserved by one Lua script on Redis's own clock (``TIME``), so N workers on
  one campaign keep its rate together. If Redis does not answer within ``timeout``
  (500 ms) the process paces itself with ``LocalSlots``, logs a warning, and tries
  Redis again ``retry_after`` (5 s) later — slower to agree, never stopped.

Used by the campaign worker (``messaging/runner.py``); written so the bot's staff
messages (``bot/staff_rate.py``, same key for a bot: ``firma:telegram:send-slot:<id>``)
can move onto it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]
Monotonic = Callable[[], float]
MAX_RATE = 1_000_000.0  # slots are microseconds apart at the finest
DEFAULT_PREFIX = "firma:"


@dataclass(frozen=True)
class Limit:
    """``per_second`` slots under the name ``key`` (one Redis key when shared)."""

    key: str
    per_second: float

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 200:
            raise ValueError("a rate key is 1-200 characters")
        if not 0 < self.per_second <= MAX_RATE:
            raise ValueError(f"a rate is more than 0 and at most {MAX_RATE:g} per second")

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


def campaign_limit(campaign_id: int, per_second: float) -> Limit:
    return Limit(f"campaign:{campaign_id}:send-slot", per_second)


def channel_limit(channel: str, per_second: float) -> Limit:
    """A channel's budget over every campaign (the mail relay's, the SMS gateway's)."""
    return Limit(f"channel:{channel}:send-slot", per_second)


def telegram_limit(token_or_bot_id: str, per_second: float) -> Limit:
    """A bot's own budget: keyed by its public id, never by the secret token."""
    return Limit(f"telegram:send-slot:{str(token_or_bot_id).split(':', 1)[0]}", per_second)


class Slots(Protocol):
    async def wait(self, *limits: Limit) -> None:
        """Return when one send under every limit given may go."""

    async def hold(self, seconds: float, *limits: Limit) -> None:
        """No slot under these limits before ``seconds`` from now (a 429's retry_after)."""

    async def close(self) -> None: ...


class LocalSlots:
    """Slots for one process; ``monotonic`` and ``sleep`` may be an injected clock's."""

    MAX_KEYS = 10_000

    def __init__(
        self, *, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._monotonic, self._sleep = monotonic, sleep
        self._next: dict[str, float] = {}

    def reserve(self, limits: Iterable[Limit]) -> float:
        """Take the next slot free under every limit; the seconds to wait for it."""
        limits = list(limits)
        at = self._monotonic()
        slot = max([at, *(self._next.get(lim.key, at) for lim in limits)])
        if len(self._next) >= self.MAX_KEYS:  # long-finished campaigns: forget the past
            self._next = {k: v for k, v in self._next.items() if v > at}
        for lim in limits:
            self._next[lim.key] = slot + lim.interval
        return slot - at

    async def wait(self, *limits: Limit) -> None:
        delay = self.reserve(limits)
        if delay > 0:
            await self._sleep(delay)

    async def hold(self, seconds: float, *limits: Limit) -> None:
        until = self._monotonic() + max(0.0, seconds)
        for lim in limits:
            self._next[lim.key] = max(self._next.get(lim.key, until), until)

    async def close(self) -> None:
        return None


# KEYS: one per limit. ARGV[1]: now in µs, or '' for Redis's clock; ARGV[2..]: each
# key's interval in µs. Every key's next slot moves to slot + its interval; a key
# lives while its slots are handed out, and a minute more.
# Returns {slot, now} in µs (the caller waits slot - now).
_RESERVE = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local slot = now
for i, key in ipairs(KEYS) do
  local nxt = tonumber(redis.call('GET', key) or '0')
  if nxt > slot then slot = nxt end
end
for i, key in ipairs(KEYS) do
  local nxt = slot + tonumber(ARGV[i + 1])
  local ttl = math.floor((nxt - now) / 1000) + 60000
  redis.call('SET', key, string.format('%.0f', nxt), 'PX', ttl)
end
return {string.format('%.0f', slot), string.format('%.0f', now)}
"""

# KEYS: one per limit. ARGV[1]: now in µs or ''; ARGV[2]: the hold in µs.
_HOLD = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local untl = now + tonumber(ARGV[2])
local ttl = math.floor(tonumber(ARGV[2]) / 1000) + 60000
for i, key in ipairs(KEYS) do
  local nxt = tonumber(redis.call('GET', key) or '0')
  if untl > nxt then
    redis.call('SET', key, string.format('%.0f', untl), 'PX', ttl)
  end
end
return 1
"""


def _safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else "redis"


class RedisSlots:
    """Slots shared by every process through Redis; ``LocalSlots`` while it is away.

    ``clock``: seconds from an injected clock every process shares (tests); None —
    Redis's own clock, the one all processes agree on.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 0.5,
        retry_after: float = 5.0,
        clock: Monotonic | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        from redis.asyncio import Redis

        self.url, self.prefix = _safe_url(redis_url), prefix
        self.timeout, self.retry_after = timeout, retry_after
        self.client = Redis.from_url(
            redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._reserve = self.client.register_script(_RESERVE)
        self._hold = self.client.register_script(_HOLD)
        self._clock, self._sleep = clock, sleep
        self._monotonic = monotonic
        self.fallback = LocalSlots(monotonic=clock or monotonic, sleep=sleep)
        self._down_until = float("-inf")

    @property
    def shared(self) -> bool:
        """False while this process paces itself (Redis did not answer lately)."""
        return self._monotonic() >= self._down_until

    def _now_arg(self) -> str:
        return "" if self._clock is None else str(round(self._clock() * 1_000_000))

    async def _call(self, script, keys: list[str], args: list) -> Any:
        """The script's answer, or None when Redis is (or was lately) away."""
        if not self.shared:
            return None
        from redis.exceptions import RedisError

        try:
            return await asyncio.wait_for(script(keys=keys, args=args), self.timeout)
        except (RedisError, OSError, TimeoutError) as exc:
            self._down_until = self._monotonic() + self.retry_after
            log.warning(
                "send rates: Redis at %s failed (%s); pacing in this process for %ss",
                self.url,
                exc.__class__.__name__,
                self.retry_after,
            )
            return None

    async def reserve_shared(self, limits: Iterable[Limit]) -> tuple[int, int] | None:
        """Take the next shared slot free under every limit: (slot, now) in µs of the
        shared clock, or None when Redis is away."""
        limits = list(limits)
        keys = [self.prefix + lim.key for lim in limits]
        args = [self._now_arg(), *(max(1, round(lim.interval * 1_000_000)) for lim in limits)]
        answer = await self._call(self._reserve, keys, args)
        if answer is None:
            return None
        slot, at = (int(v) for v in answer)
        return slot, at

    async def reserve(self, limits: Iterable[Limit]) -> float:
        """Take the next slot free under every limit (shared, else this process's);
        the seconds to wait for it."""
        limits = list(limits)
        began = self._monotonic()
        shared = await self.reserve_shared(limits)
        if shared is None:
            return self.fallback.reserve(limits)
        slot, at = shared
        if self._clock is not None:  # the injected clock may have moved meanwhile
            return max(0.0, slot / 1_000_000 - self._clock())
        # Redis read its clock about halfway through the round trip.
        return max(0.0, (slot - at) / 1_000_000 - (self._monotonic() - began) / 2)

    async def wait(self, *limits: Limit) -> None:
        delay = await self.reserve(limits)
        if delay > 0:
            await self._sleep(delay)

    async def hold(self, seconds: float, *limits: Limit) -> None:
        await self.fallback.hold(seconds, *limits)
        keys = [self.prefix + lim.key for lim in limits]
        await self._call(self._hold, keys, [self._now_arg(), round(max(0.0, seconds) * 1e6)])

    async def close(self) -> None:
        await self.client.aclose()


class Rate:
    """Slots under fixed limits, as one object: ``await rate.wait()`` (the bot's shape)."""

    def __init__(self, slots: Slots, *limits: Limit) -> None:
        self.slots, self.limits = slots, limits

    async def wait(self) -> None:
        await self.slots.wait(*self.limits)

    async def hold(self, seconds: float) -> None:
        await self.slots.hold(seconds, *self.limits)


def create_slots(
    redis_url: str | None,
    *,
    prefix: str = DEFAULT_PREFIX,
    monotonic: Monotonic = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> LocalSlots | RedisSlots:
    """Shared through Redis when a URL is configured, else this process's own."""
    if redis_url:
        return RedisSlots(redis_url, prefix=prefix, monotonic=monotonic, sleep=sleep)
    return LocalSlots(monotonic=monotonic, sleep=sleep)
