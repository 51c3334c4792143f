"""A fake SMS.ru on 127.0.0.1 speaking its JSON API (``POST /sms/send`` with
``api_id``, ``to``, ``msg``, ``json=1``), including its error answers: a wrong
``api_id`` (200), no money left (201), an invalid number (202), a number that must
not be sent to (207), and an HTTP 503 from a service that is down."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from aiohttp import web

from messaging.sms import count_segments

STATUS_TEXTS = {
    102: "Сообщение отправлено (в пути)",
    103: "Сообщение доставлено",
    104: "Не может быть доставлено: время жизни истекло",
}


class Served:
    """A fake gateway's aiohttp app on 127.0.0.1, on a free port (``url``)."""

    url: str
    _runner: web.AppRunner | None

    async def _serve(self, routes: dict) -> None:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class FakeSmsRu(Served):
    api_id: str = "TEST-API-ID"
    balance: float = 1000.0
    price: float = 2.5  # per SMS part
    invalid: set[str] = field(default_factory=set)  # → 202
    barred: set[str] = field(default_factory=set)  # → 207
    down: int = 0  # answer the next N requests with HTTP 503
    sent: list[dict] = field(default_factory=list)
    requests: int = 0
    status_requests: int = 0
    codes: dict[str, int] = field(default_factory=dict)  # sms_id → delivery status code
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeSmsRu:
        await self._serve({"/sms/send": self._send, "/sms/status": self._status})
        return self

    def report(self, sms_id: str, code: int) -> None:
        """What the operator says of a sent message from now on (103 delivered…)."""
        self.codes[sms_id] = code

    async def _status(self, request: web.Request) -> web.Response:
        self.status_requests += 1
        form, refused = await self._admit(request)
        if refused is not None:
            return refused
        answers = {}
        for sms_id in str(form.get("sms_id") or "").split(","):
            if sms_id not in self.codes:
                answers[sms_id] = {
                    "status": "ERROR",
                    "status_code": -1,
                    "status_text": "Не найдено",
                }
                continue
            code = self.codes[sms_id]
            text = STATUS_TEXTS.get(code, "Статус")
            answers[sms_id] = {"status": "OK", "status_code": code, "status_text": text}
        return web.json_response({"status": "OK", "status_code": 100, "sms": answers})

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        form, refused = await self._admit(request)
        if refused is not None:
            return refused
        if form.get("json") != "1":
            return web.Response(text="100\n000000-000001")  # the plain-text format
        text, numbers = str(form.get("msg") or ""), str(form.get("to") or "").split(",")
        if not text:
            return self._error(203, "Нет текста сообщения")
        parts = count_segments(text).count
        cost = parts * self.price * len(numbers)
        if cost > self.balance + 1e-9:
            return self._error(201, "Не хватает средств на лицевом счету")
        answers = {}
        for number in numbers:
            if not number.isdigit() or number in self.invalid:
                answers[number] = {
                    "status": "ERROR",
                    "status_code": 202,
                    "status_text": "Неправильно указан номер телефона получателя",
                }
            elif number in self.barred:
                answers[number] = {
                    "status": "ERROR",
                    "status_code": 207,
                    "status_text": "На этот номер нельзя отправлять сообщения",
                }
            else:
                sms_id = f"{next(self._ids):06d}-{math.floor(self.balance):07d}"
                self.balance -= parts * self.price
                self.sent.append({"to": number, "text": text, "parts": parts, "id": sms_id})
                self.codes[sms_id] = 102  # on its way
                answers[number] = {"status": "OK", "status_code": 100, "sms_id": sms_id}
        return web.json_response(
            {"status": "OK", "status_code": 100, "sms": answers, "balance": round(self.balance, 2)}
        )

    async def _admit(self, request: web.Request):
        """The request's form, or the answer refusing it: a service that is down (503),
        or an unknown ``api_id`` (200)."""
        if self.down > 0:
            self.down -= 1
            return None, web.Response(status=503, text="Service Unavailable")
        form = await request.post()
        if form.get("api_id") != self.api_id:
            return None, self._error(200, "Неправильный api_id")
        return form, None

    @staticmethod
    def _error(code: int, text: str) -> web.Response:
        return web.json_response({"status": "ERROR", "status_code": code, "status_text": text})
