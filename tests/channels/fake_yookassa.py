"""A fake ЮKassa API v3 on 127.0.0.1: ``POST /v3/payments`` (Basic auth, Idempotence-Key
required and honoured: the same key returns the same payment), ``GET /v3/payments/{id}``
and ``GET /v3/refunds/{id}``; the test moves payments between statuses and reads what
was asked (``requests``)."""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SHOP_ID = "506751"
SECRET_KEY = "test_SECRET-key"


@dataclass
class FakeYookassa:
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests
    url: str = ""
    _runner: web.AppRunner | None = None
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/payments", self._create)
        app.router.add_get("/v3/payments/{id}", self._get_payment)
        app.router.add_get("/v3/refunds/{id}", self._get_refund)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v3"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{SHOP_ID}:{SECRET_KEY}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def _gate(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.method, request.path, dict(request.headers)))
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"type": "error", "code": "internal_server_error"}, status=500)
        if not self._authorized(request):
            return web.json_response(
                {"type": "error", "code": "invalid_credentials", "description": "auth"}, status=401
            )
        return None

    async def _create(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        key = request.headers.get("Idempotence-Key")
        if not key:
            return web.json_response(
                {"type": "error", "code": "invalid_request", "description": "Idempotence-Key"},
                status=400,
            )
        if key in self.by_key:
            return web.json_response(self.payments[self.by_key[key]])
        body = await request.json()
        payment_id = str(uuid.uuid4())
        self.payments[payment_id] = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": body["amount"],
            "description": body.get("description"),
            "confirmation": {
                "type": "redirect",
                "return_url": body["confirmation"]["return_url"],
                "confirmation_url": f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={payment_id}",
            },
            "created_at": "2026-03-02T07:00:00.000Z",
            "metadata": body.get("metadata", {}),
            "recipient": {"account_id": SHOP_ID, "gateway_id": "100500"},
            "refundable": False,
            "test": True,
        }
        self.by_key[key] = payment_id
        return web.json_response(self.payments[payment_id])

    async def _get_payment(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        found = self.payments.get(request.match_info["id"])
        if found is None:
            return web.json_response(
                {"type": "error", "code": "not_found", "description": "Payment not found"},
                status=404,
            )
        return web.json_response(found)

    async def _get_refund(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        found = self.refunds.get(request.match_info["id"])
        if found is None:
            return web.json_response({"type": "error", "code": "not_found"}, status=404)
        return web.json_response(found)

    # -- what ЮKassa's side does, driven by the test --------------------------------

    def add_payment(self, *, amount: str, order_id: int | None, status: str = "pending") -> str:
        payment_id = f"2d{next(self._seq):06d}-000f-5000-9000-1b68e7b15f3f"
        self.payments[payment_id] = {
            "id": payment_id,
            "status": status,
            "paid": status == "succeeded",
            "amount": {"value": amount, "currency": "RUB"},
            "created_at": "2026-03-02T07:00:00.000Z",
            "metadata": {"order_id": str(order_id)} if order_id is not None else {},
            "test": True,
        }
        return payment_id

    def succeed(self, payment_id: str) -> dict[str, Any]:
        payment = self.payments[payment_id]
        payment.update(
            status="succeeded",
            paid=True,
            captured_at="2026-03-02T07:05:00.000Z",
            income_amount=payment["amount"],
        )
        return payment

    def cancel(self, payment_id: str) -> dict[str, Any]:
        payment = self.payments[payment_id]
        payment.update(
            status="canceled",
            paid=False,
            cancellation_details={"reason": "expired_on_confirmation", "party": "yoo_money"},
        )
        return payment


def notification(event: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The body ЮKassa posts: ``{"type": "notification", "event": ..., "object": ...}``."""
    return {"type": "notification", "event": event, "object": obj}
