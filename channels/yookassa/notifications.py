"""``POST /channels/yookassa/notifications``: ЮKassa's HTTP notifications.

The body is never trusted. A notification must come from an address ЮKassa publishes
(configurable), and the object it names is read back from the API with the shop's
credentials: what the API says is what is applied. A notification that disagrees
with the API (status, amount, currency) is kept as ``mismatch`` and applies nothing.

Answers: 200 once handled (also for an unknown order: kept for a person, and ЮKassa
stops retrying); 400 for a malformed body or an object the API does not know; 403
from a foreign address; 503 when the API cannot be asked now (ЮKassa retries).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.yookassa.client import YookassaClient, YookassaError
from crm_core.context import Actor, ActorKind, Clock
from crm_core.db import unit_of_work
from crm_core.online_payments.service import (
    VerifiedPayment,
    apply_verified_payment,
    record_mismatch,
)

log = logging.getLogger(__name__)

PROVIDER = "yookassa"
ACTOR = Actor(ActorKind.SYSTEM, None, "ЮKassa")
MAX_BODY = 64 * 1024
EVENTS = {
    "payment.succeeded",
    "payment.canceled",
    "payment.waiting_for_capture",
    "refund.succeeded",
}


class BadNotification(ValueError):
    pass


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _amount(obj: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    raw = obj.get("amount")
    if not isinstance(raw, dict):
        return None, None
    try:
        value = Decimal(str(raw.get("value")))
    except InvalidOperation:
        return None, None
    currency = raw.get("currency")
    return (value if value.is_finite() else None), (currency if isinstance(currency, str) else None)


def _order_id(obj: dict[str, Any]) -> int | None:
    metadata = obj.get("metadata")
    raw = metadata.get("order_id") if isinstance(metadata, dict) else None
    text = str(raw).strip() if raw is not None else ""
    return int(text) if text.isdigit() and len(text) < 12 else None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse_notification(body: bytes) -> tuple[str, dict[str, Any]]:
    """The event and its object from a notification body, or BadNotification."""
    if len(body) > MAX_BODY:
        raise BadNotification("Body too large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadNotification("Body is not JSON") from exc
    if not isinstance(data, dict) or data.get("type") != "notification":
        raise BadNotification("Not a notification object")
    event, obj = data.get("event"), data.get("object")
    if event not in EVENTS:
        raise BadNotification(f"Unsupported event {str(event)[:50]!r}")
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise BadNotification("The object has no id")
    return event, obj


def verified(event: str, api_obj: dict[str, Any]) -> VerifiedPayment:
    """The API's view of the object the notification named."""
    amount, currency = _amount(api_obj)
    is_refund = event.startswith("refund.")
    return VerifiedPayment(
        provider=PROVIDER,
        event=event,
        object_id=str(api_obj.get("id")),
        status=str(api_obj.get("status") or ""),
        amount=amount,
        currency=currency,
        order_id=None if is_refund else _order_id(api_obj),
        paid=bool(api_obj.get("paid")),
        paid_at=_time(api_obj.get("captured_at")) or _time(api_obj.get("created_at")),
        payment_id=str(api_obj.get("payment_id")) if is_refund else None,
    )


def disagreement(event: str, claimed: dict[str, Any], truth: VerifiedPayment) -> str | None:
    """Why the notification's body cannot be the API's object, or None when it agrees."""
    expected_status = event.split(".", 1)[1]
    if truth.status != expected_status and event != "payment.waiting_for_capture":
        return f"The API says status {truth.status!r}, the notification {expected_status!r}"
    amount, currency = _amount(claimed)
    if amount is not None and amount != truth.amount:
        return f"The API says amount {truth.amount}, the notification {amount}"
    if currency is not None and currency != truth.currency:
        return f"The API says currency {truth.currency}, the notification {currency}"
    order_id = _order_id(claimed)
    if order_id is not None and truth.order_id is not None and order_id != truth.order_id:
        return f"The API says order {truth.order_id}, the notification {order_id}"
    return None


def yookassa_router(
    sessions: async_sessionmaker[AsyncSession], client: YookassaClient, *, clock: Clock
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    config = client.config

    @router.post("/channels/yookassa/notifications")
    async def notification(request: Request) -> JSONResponse:
        address = request.client.host if request.client else None
        if not config.trusts(address):
            log.warning("ЮKassa notification from untrusted address %s refused", address)
            return _error(403, "Source address is not ЮKassa's")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _error(413, "Body too large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, "Body too large")
        try:
            event, claimed = parse_notification(body)
        except BadNotification as exc:
            return _error(400, str(exc))
        if not config.configured:
            return _error(503, "ЮKassa is not configured")
        try:
            if event.startswith("refund."):
                api_obj = await client.get_refund(claimed["id"])
            else:
                api_obj = await client.get_payment(claimed["id"])
        except YookassaError as exc:
            if exc.transient:
                log.warning("ЮKassa API unavailable for %s: %s", claimed["id"], exc)
                return _error(503, "Cannot verify the notification now")
            log.warning("ЮKassa notification for unknown object %s: %s", claimed["id"], exc)
            return _error(400, "Unknown object")
        truth = verified(event, api_obj)
        if truth.object_id != claimed["id"]:
            return _error(400, "Unknown object")
        payload = {"event": event, "object": claimed, "address": address}
        problem = disagreement(event, claimed, truth)
        async with unit_of_work(sessions, actor=ACTOR, clock=clock) as session:
            if problem:
                log.warning("ЮKassa notification %s disagrees: %s", truth.object_id, problem)
                row = await record_mismatch(session, truth, problem, payload)
            else:
                row = await apply_verified_payment(session, truth, payload)
            outcome = row.outcome
        return JSONResponse({"status": "ok", "outcome": outcome})

    return router
