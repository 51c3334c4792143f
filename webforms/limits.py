"""Rate limits per IP and form, and per form: in this process, or shared through Redis.

A sliding window made of two fixed windows (the previous one weighted by how much of
it still overlaps), so a burst at a window edge cannot double the limit. In memory
(``RateLimiter``) it is right for one ``firma serve`` process; with ``FIRMA_REDIS_URL``
(``RedisRateLimiter``) every process counts in the same Redis keys, checked and counted
atomically by one Lua script. Redis being down never stops intake: the limiter falls
back to counting in this process, logs it, and tries Redis again a little later.
"""

from __future__ import annotations

import logging
import math
import secrets
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def _retry_after(now: float, window: int, index: int, current: int, previous: int, limit: int):
    """Seconds until one more request fits."""
    elapsed = (now - index * window) / window
    estimate = previous * (1 - elapsed) + current
    if previous and current < limit:
        # Wait until enough of the previous window has slid out.
        needed = (estimate + 1 - limit) / previous * window
        return max(1, math.ceil(needed))
    return max(1, math.ceil((index + 1) * window - now))


class RateLimiter:
    """Counts in this process."""

    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int, int]] = {}  # key → (window, current, previous)

    async def hit(self, key: str, *, limit: int, window: int, now: float) -> int | None:
        """Count one request; None if allowed, else the seconds to wait (Retry-After)."""
        return self.hit_now(key, limit=limit, window=window, now=now)

    def hit_now(self, key: str, *, limit: int, window: int, now: float) -> int | None:
        index = int(now // window)
        start, current, previous = self._windows.get(key, (index, 0, 0))
        if index != start:
            previous = current if index == start + 1 else 0
            start, current = index, 0
        elapsed = (now - index * window) / window
        if previous * (1 - elapsed) + current + 1 > limit:
            self._windows[key] = (start, current, previous)
            return _retry_after(now, window, index, current, previous, limit)
        if len(self._windows) >= self.MAX_KEYS and key not in self._windows:
            self._prune(index)
        self._windows[key] = (start, current + 1, previous)
        return None

    def _prune(self, index: int) -> None:
        stale = [k for k, (start, _c, _p) in self._windows.items() if start < index - 1]
        for key in stale:
            del self._windows[key]
        if len(self._windows) >= self.MAX_KEYS:  # under attack by many IPs: start afresh
            self._windows.clear()

    def reset(self) -> None:
        self._windows.clear()

    async def close(self) -> None:
        return None


# KEYS: this window's counter, the previous window's. ARGV: limit, window seconds,
# the elapsed part of this window (0..1). Returns {allowed, current, previous}.
_HIT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (1 - tonumber(ARGV[3])) + current + 1 > tonumber(ARGV[1]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) * 2 + 1) end
return {1, current, previous}
"""


class RedisRateLimiter:
    """Counts in Redis, shared by every process; falls back to this process's count
    while Redis does not answer (within ``timeout`` seconds)."""

    RETRY_REDIS_AFTER = 5.0  # seconds without trying Redis after it failed

    def __init__(
        self, url: str, *, prefix: str = "firma:webforms:rl:", timeout: float = 0.25
    ) -> None:
        self.url, self.prefix = url, prefix
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self.client.register_script(_HIT)
        self.fallback = RateLimiter()
        self._epoch = ""  # changed by reset(): fresh keys, nothing to delete
        self._down_until = 0.0

    def _key(self, key: str, index: int) -> str:
        return f"{self.prefix}{self._epoch}{key}:{index}"

    async def hit(self, key: str, *, limit: int, window: int, now: float) -> int | None:
        """Count one request; None if allowed, else the seconds to wait (Retry-After)."""
        if time.monotonic() < self._down_until:
            return self.fallback.hit_now(key, limit=limit, window=window, now=now)
        index = int(now // window)
        elapsed = (now - index * window) / window
        try:
            allowed, current, previous = await self._script(
                keys=[self._key(key, index), self._key(key, index - 1)],
                args=[limit, window, repr(elapsed)],
            )
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.RETRY_REDIS_AFTER
            log.warning("rate limits: Redis at %s failed (%s); counting in-process", self.url, exc)
            return self.fallback.hit_now(key, limit=limit, window=window, now=now)
        if allowed:
            return None
        return _retry_after(now, window, index, int(current), int(previous), limit)

    def reset(self) -> None:
        self._epoch = secrets.token_hex(4) + ":"
        self.fallback.reset()
        self._down_until = 0.0

    async def close(self) -> None:
        await self.client.aclose()


Limiter = RateLimiter | RedisRateLimiter


def create_limiter(redis_url: str | None, prefix: str = "firma:webforms:rl:") -> Limiter:
    """Redis-backed when ``FIRMA_REDIS_URL`` is set, else in this process."""
    return RedisRateLimiter(redis_url, prefix=prefix) if redis_url else RateLimiter()
