"""Rate limits held in this process: per IP and form, and per form.

A sliding window made of two fixed windows (the previous one weighted by how much of
it still overlaps), so a burst at a window edge cannot double the limit. In memory:
right for one ``firma serve`` process; several processes behind a balancer each count
their own share, and a Redis-backed limiter (``FIRMA_REDIS_URL``) can replace this
class with the same ``hit`` method later.
"""

from __future__ import annotations

import math


class RateLimiter:
    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int, int]] = {}  # key → (window, current, previous)

    def hit(self, key: str, *, limit: int, window: int, now: float) -> int | None:
        """Count one request; None if allowed, else the seconds to wait (Retry-After)."""
        index = int(now // window)
        start, current, previous = self._windows.get(key, (index, 0, 0))
        if index != start:
            previous = current if index == start + 1 else 0
            start, current = index, 0
        elapsed = (now - index * window) / window
        estimate = previous * (1 - elapsed) + current
        if estimate + 1 > limit:
            self._windows[key] = (start, current, previous)
            if previous and current < limit:
                # Wait until enough of the previous window has slid out.
                needed = (estimate + 1 - limit) / previous * window
                return max(1, math.ceil(needed))
            return max(1, math.ceil((index + 1) * window - now))
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
