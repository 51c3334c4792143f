"""A fake Telegram Bot API server on 127.0.0.1 for the real aiogram ``Bot`` to talk to.

It records every method call with its parameters, serves queued updates by
``getUpdates`` (long polling), posts updates to a webhook, and answers 429
``retry_after`` or 403 "blocked" on demand. Just enough of the Bot API for Firma's bot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Firma", "username": "firma_test_bot"}
MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendInvoice"}
EDIT_METHODS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    in_reply: bool = False  # made by returning it as the webhook's reply, not by a request

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of the call's keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, starts_with: str) -> dict[str, Any]:
        return next(b for b in self.buttons() if b["text"].startswith(starts_with))


@dataclass
class _Failure:
    method: str
    status: int
    retry_after: int | None
    chat_id: int | None
    times: int


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-TOKEN"
    calls: list[Call] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    updates: asyncio.Queue = field(default_factory=asyncio.Queue)
    url: str = ""
    holds: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ server

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "size": len(value.file.read())}
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        params.update(request.query)
        # Files travel as separate parts, referenced as "attach://<part name>".
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value.removeprefix("attach://"), value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        failure = self._failure_for(method, params)
        if failure is not None:
            self.calls.append(Call(method, params, failure.status))
            return self._error(failure)
        self.calls.append(Call(method, params))
        held = self.holds.get((method, str(params.get("chat_id"))))
        if held is not None:
            await held.wait()
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._poll(params)})
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _failure_for(self, method: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self.failures:
            chat = params.get("chat_id")
            if failure.method != method or failure.times <= 0:
                continue
            if failure.chat_id is not None and str(chat) != str(failure.chat_id):
                continue
            failure.times -= 1
            return failure
        return None

    @staticmethod
    def _error(failure: _Failure) -> web.Response:
        if failure.status == 429:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {failure.retry_after}",
                "parameters": {"retry_after": failure.retry_after},
            }
        else:
            body = {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        return web.json_response(body, status=failure.status)

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in MESSAGE_METHODS or method in EDIT_METHODS:
            chat_id = int(params.get("chat_id") or 0)
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._ids)),
                "date": 1_770_000_000,
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
            }
            if "text" in params:
                message["text"] = str(params["text"])
            if method == "sendPhoto":
                message["photo"] = [
                    {"file_id": "photo-1", "file_unique_id": "p1", "width": 1, "height": 1}
                ]
                message["caption"] = str(params.get("caption") or "")
            if method == "sendDocument":
                message["document"] = {"file_id": "doc-1", "file_unique_id": "d1"}
            if method == "sendInvoice":
                message["invoice"] = {
                    "title": params["title"],
                    "description": params["description"],
                    "start_parameter": "",
                    "currency": params["currency"],
                    "total_amount": sum(p["amount"] for p in params["prices"]),
                }
            return message
        return True

    async def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        timeout = float(params.get("timeout") or 0)
        batch = []
        try:
            batch.append(await asyncio.wait_for(self.updates.get(), timeout=max(timeout, 0.01)))
        except TimeoutError:
            return []
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        return batch

    # ------------------------------------------------------------ control

    def fail(
        self,
        method: str,
        *,
        status: int,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (for ``chat_id``) with an error."""
        self.failures.append(_Failure(method, status, retry_after, chat_id, times))

    def hold(self, method: str, chat_id: int) -> asyncio.Event:
        """Answer ``method`` calls for ``chat_id`` only once the returned event is set
        (a slow Telegram); the call is recorded when it arrives."""
        event = self.holds[(method, str(chat_id))] = asyncio.Event()
        return event

    def of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and c.status == 200 and (chat_id is None or c.chat_id == chat_id)
        ]

    def last(self, method: str, chat_id: int | None = None) -> Call:
        found = self.of(method, chat_id)
        assert found, f"no successful {method} call (calls: {[c.method for c in self.calls]})"
        return found[-1]

    def replies(self, chat_id: int) -> list[Call]:
        """What the bot sent or showed in a chat, in order."""
        shown = MESSAGE_METHODS | EDIT_METHODS
        return [c for c in self.calls if c.method in shown and c.chat_id == chat_id]

    async def post_update(
        self, webhook_url: str, update: dict[str, Any], secret: str | None
    ) -> int:
        """POST an update to a webhook as Telegram does; returns the HTTP status. A method
        in the reply body is executed (recorded as a call), as Telegram does."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as http,
            http.post(webhook_url, json=update, headers=headers) as response,
        ):
            body = await response.read()
            if response.status == 200:
                self.reply_in_response(json.loads(body or b"{}"))
            return response.status

    def reply_in_response(self, body: Any) -> Call | None:
        """A webhook's reply ``{"method": ..., params}``: Telegram makes that call."""
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            return None
        params = {k: v for k, v in body.items() if k != "method"}
        call = Call(body["method"], params, in_reply=True)
        self.calls.append(call)
        return call

    # ------------------------------------------------------------ updates

    def update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **body}
