"""A fake SMSC.ru on 127.0.0.1 speaking its HTTP API as documented
(https://smsc.ru/api/http/send/sms/): ``POST /sys/send.php`` with ``apikey`` or
``login``/``psw``, ``phones``, ``mes``, ``fmt=3`` (JSON answers) and ``charset``.

Answers: ``{"id": N, "cnt": parts}`` when accepted, else ``{"error", "error_code"}`` —
2 wrong credentials, 3 not enough money (with the message's ``id``), 6 a sender name
not approved, 7 a malformed number, 8 a number the message cannot reach, 9 the same
request (phones and text) again within a minute; and HTTP 503 from a service that is
down. Time is the caller's clock (``now``), so "within a minute" follows injected time.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from messaging.sms import count_segments
from tests.messaging.fake_sms import Served


@dataclass
class FakeSmsc(Served):
    apikey: str = "SMSC-TEST-KEY"
    login: str = "firma"
    password: str = "s3cret"
    senders: set[str] = field(default_factory=lambda: {"Firma"})
    balance: float = 1000.0
    price: float = 3.0  # per SMS part
    unreachable: set[str] = field(default_factory=set)  # → 8
    down: int = 0  # answer the next N requests with HTTP 503
    now: Callable[[], float] = time.monotonic
    sent: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    status_requests: int = 0
    statuses: dict[int, tuple[int, int]] = field(default_factory=dict)  # id → (status, err)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._recent: dict[tuple[str, str], float] = {}
        self._by_id: dict[int, dict] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeSmsc:
        await self._serve({"/sys/send.php": self._send, "/sys/status.php": self._status})
        return self

    def report(self, sms_id: int, status: int, err: int = 0) -> None:
        """What the operator says of a sent message from now on (1 delivered…)."""
        self.statuses[sms_id] = (status, err)

    async def _status(self, request: web.Request) -> web.Response:
        """status.php with fmt=3: for a list of phones and ids (a trailing comma keeps a
        single one a list), one object each, in the order asked."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.status_requests += 1
        if (refused := self._refused(form)) is not None:
            return refused
        phones, ids = form.get("phone", "").split(","), form.get("id", "").split(",")
        if len(ids) < 2 or len(phones) != len(ids):
            return self._error(1, "parameters error")
        answers = []
        for phone, raw in zip(phones[:-1], ids[:-1], strict=True):
            sent = self._by_id.get(int(raw)) if raw.isdigit() else None
            status, err = (
                (-3, 0) if sent is None or sent["to"] != phone else self.statuses[sent["id"]]
            )
            answers.append(
                {
                    "status": status,
                    "last_date": "06.12.2026 10:00:00",
                    "err": err,
                    "id": raw,
                    "phone": phone,
                }
            )
        return web.json_response(answers)

    async def _send(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(form)
        if (refused := self._refused(form)) is not None:
            return refused
        if form.get("fmt") != "3":
            return web.Response(text="OK - 1 SMS, ID - 1")  # the plain-text format
        if form.get("charset") != "utf-8":
            return self._error(1, "parameters error")  # the text would arrive garbled
        phone, text = form.get("phones", ""), form.get("mes", "")
        if not text:
            return self._error(1, "parameters error")
        if "sender" in form and form["sender"] not in self.senders:
            return self._error(6, "message is denied")
        digits = phone.lstrip("+")
        if not digits.isdigit() or not 10 <= len(digits) <= 15:
            return self._error(7, "invalid number")
        at, key = self.now(), (phone, text)
        if at - self._recent.get(key, float("-inf")) < 60:
            return self._error(9, "duplicate request, wait a minute")
        self._recent[key] = at
        sms_id = next(self._ids)
        if digits in self.unreachable:
            return self._error(8, "couldn't be delivered", sms_id)
        parts = count_segments(text).count
        if parts * self.price > self.balance + 1e-9:
            return self._error(3, "no money", sms_id)
        self.balance -= parts * self.price
        self.sent.append({"to": phone, "text": text, "parts": parts, "id": sms_id})
        self._by_id[sms_id] = self.sent[-1]
        self.statuses[sms_id] = (0, 0)  # handed to the operator
        return web.json_response({"id": sms_id, "cnt": parts})

    def _refused(self, form: dict[str, str]) -> web.Response | None:
        """A service that is down (503), or credentials it does not know (2)."""
        if self.down > 0:
            self.down -= 1
            return web.Response(status=503, text="Service Unavailable")
        by_key = form.get("apikey") == self.apikey
        by_login = (form.get("login"), form.get("psw")) == (self.login, self.password)
        return None if by_key or by_login else self._error(2, "authorise error")

    @staticmethod
    def _error(code: int, text: str, sms_id: int | None = None) -> web.Response:
        body: dict = {"error": text, "error_code": code}
        if sms_id is not None:  # errors 3, 6, 7, 8 carry the message's id
            body["id"] = sms_id
        return web.json_response(body)
