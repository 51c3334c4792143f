"""Short-lived, per-process memory of what every browsing update would otherwise ask the
database again: who a Telegram user is.

It changes rarely and is read on every update (profile of ``bench/bot.py --profile``:
the identity query is one of the 1–3 statements of a browsing update). What is cached,
and for how long, is deliberately narrow:

- **identity** (``TelegramLink``) for ``IDENTITY_TTL`` seconds, and used only by updates
  that cannot act on a wrong answer: browsing (catalog, cart, orders list and card) and
  the cart's +/− (which need only the Telegram id). Every other update — /start, a
  shared contact, /language, checkout, payments, a message to the firm, every staff
  action — reads the link afresh and refreshes the entry. So a link changed elsewhere
  (another ``firma serve`` process, the back office) shows in browsing within the TTL
  and at once anywhere it matters.

Nothing of the catalog is cached: prices, stock and the default price kind are read in
the same statement as the page or card that shows them (``crm_core.catalog.showcase``),
so a manager's change shows in the next update.

Times come from the injected clock (tests move it); no clock: ``time.monotonic``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from crm_core.cart.telegram import TelegramLink
from crm_core.context import Clock

IDENTITY_TTL = 10.0
MAX_ENTRIES = 20_000

K = TypeVar("K")
V = TypeVar("V")


def seconds_of(clock: Clock | None) -> Callable[[], float]:
    if clock is None:
        return time.monotonic
    return lambda: clock.now().timestamp()


class TtlCache(Generic[K, V]):
    """A dict whose entries expire ``ttl`` seconds after they were put; at most
    ``max_entries`` (the oldest go first)."""

    def __init__(
        self, ttl: float, *, now: Callable[[], float], max_entries: int = MAX_ENTRIES
    ) -> None:
        self.ttl, self.now, self.max_entries = ttl, now, max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self.hits = self.misses = 0

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is None or found[0] <= self.now():
            if found is not None:
                del self._items[key]
            self.misses += 1
            return None
        self.hits += 1
        return found[1]

    def put(self, key: K, value: V) -> None:
        self._items.pop(key, None)
        self._items[key] = (self.now() + self.ttl, value)
        while len(self._items) > self.max_entries:
            del self._items[next(iter(self._items))]

    def drop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class BotCaches:
    """The caches of one dispatcher (handlers get it as ``caches``)."""

    def __init__(self, clock: Clock | None = None, *, identity_ttl: float = IDENTITY_TTL) -> None:
        self.identities: TtlCache[int, TelegramLink] = TtlCache(identity_ttl, now=seconds_of(clock))
