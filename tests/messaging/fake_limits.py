"""The fake Bot API made strict about speed, as Telegram is: more than ``limit``
messages within one second (of the time the test drives) are answered 429 with
``retry_after``."""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.bot.fake_telegram import Call, FakeTelegram


@dataclass
class RateLimitedTelegram(FakeTelegram):
    now: Callable[[], float] = lambda: 0.0
    limit: int = 30
    retry_after: int = 1
    rejected: int = 0
    sent_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._window: collections.deque[float] = collections.deque()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "sendMessage":
            at = self.now()
            while self._window and self._window[0] <= at - 1.0:
                self._window.popleft()
            if len(self._window) >= self.limit:
                self.rejected += 1
                self.calls.append(Call("sendMessage", {}, 429))
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {self.retry_after}",
                        "parameters": {"retry_after": self.retry_after},
                    },
                    status=429,
                )
            self._window.append(at)
            self.sent_at.append(at)
        return await super()._handle(request)
