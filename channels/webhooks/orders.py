"""``POST /channels/orders/{source}``: a store pushes one order as JSON.

Signed: ``X-Firma-Timestamp`` (Unix seconds) and ``X-Firma-Signature: sha256=<hex>``,
the HMAC-SHA256 under the source's secret of ``<timestamp>.<raw body>``. A timestamp
outside the replay window is refused; a replay inside it is harmless, because the
store's order id makes the call idempotent (the second answer is 200, not 201).

Answers: 201 created, 200 already had it, 401 signature or timestamp, 404 unknown or
disabled source, 413 too large, 422 ``{"detail", "errors": {field: why}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import Actor, ActorKind, Clock
from crm_core.db import unit_of_work
from crm_core.errors import DomainError
from crm_core.order_webhooks.intake import (
    LineErrors,
    StoreLine,
    StoreOrder,
    intake_store_order,
    order_summary,
)
from crm_core.order_webhooks.sources import source_by_code

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
WINDOW_S = 300
TIMESTAMP = "X-Firma-Timestamp"
SIGNATURE = "X-Firma-Signature"

Text200 = Annotated[str, Field(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class LineIn(_In):
    sku: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=15, decimal_places=3)]
    price: Annotated[Decimal | None, Field(ge=0, le=10**12, decimal_places=2)] = None
    name: Annotated[str | None, Field(max_length=300)] = None


class CustomerIn(_In):
    name: Text200
    phone: Annotated[str | None, Field(max_length=50)] = None
    email: Annotated[str | None, Field(max_length=254)] = None


class DeliveryIn(_In):
    address: Annotated[str | None, Field(max_length=500)] = None
    price: Annotated[Decimal | None, Field(ge=0, le=10**9, decimal_places=2)] = None


class OrderIn(_In):
    """The documented order body (README: "JSON order webhook")."""

    id: Annotated[str, Field(min_length=1, max_length=80)]
    created_at: AwareDatetime | None = None
    customer: CustomerIn
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=500)]
    comment: Annotated[str | None, Field(max_length=10000)] = None
    delivery: DeliveryIn | None = None


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value a store sends for ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _error(status: int, detail: str, errors: dict | None = None) -> JSONResponse:
    body: dict = {"detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "body"


def order_webhook_router(
    sessions: async_sessionmaker[AsyncSession], *, clock: Clock, window_s: int = WINDOW_S
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/channels/orders/{code}")
    async def push_order(code: str, request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _error(413, "Body too large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, "Body too large")
        async with sessions() as session:
            source = await source_by_code(session, code)
            secret = source.secret if source is not None and source.enabled else None
        if secret is None:
            return _error(404, "Unknown order source")
        stamp = request.headers.get(TIMESTAMP, "").strip()
        if not stamp.isdigit() or len(stamp) > 12:
            return _error(401, f"{TIMESTAMP} (Unix seconds) is required")
        if abs(clock.now().timestamp() - int(stamp)) > window_s:
            return _error(401, f"{TIMESTAMP} is outside the {window_s} s window")
        given = request.headers.get(SIGNATURE, "").strip()
        if not hmac.compare_digest(given.encode(), sign(secret, stamp, body).encode()):
            log.warning("order webhook %s: bad signature", code)
            return _error(401, "Bad signature")
        try:
            data = OrderIn.model_validate(json.loads(body))
        except (ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, ValidationError):
                errors = {}
                for err in exc.errors():
                    errors.setdefault(_field(tuple(err.get("loc", ()))), err.get("msg", "invalid"))
                return _error(422, "The order is not valid", errors)
            return _error(422, "The body is not JSON")
        order = StoreOrder(
            external_id=data.id,
            name=data.customer.name,
            phone=data.customer.phone,
            email=data.customer.email,
            lines=[StoreLine(x.sku, x.quantity, x.price, x.name) for x in data.lines],
            comment=data.comment,
            delivery_address=data.delivery.address if data.delivery else None,
            delivery_price=data.delivery.price if data.delivery else None,
            created_at=data.created_at,
        )
        actor = Actor(ActorKind.SYSTEM, None, f"store {code}")
        try:
            async with unit_of_work(sessions, actor=actor, clock=clock) as session:
                source = await source_by_code(session, code)
                order_id, created = await intake_store_order(session, source, order)
                summary = await order_summary(session, order_id)
        except LineErrors as exc:
            return _error(422, "Some lines cannot be matched to the catalog", exc.errors)
        except DomainError as exc:
            where = f"customer.{exc.field}" if exc.field in ("phone", "email", "name") else None
            return _error(422, exc.message, {where or exc.field or "body": exc.message})
        status = "created" if created else "exists"
        return JSONResponse({"status": status, **summary}, status_code=201 if created else 200)

    return router
