"""``POST /orders/{id}/payment-link`` (ЮKassa), ``GET /orders/{id}/payment-links`` and
``GET /payment-notifications`` (what ЮKassa told us and what became of it)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from channels.admin.auth import Ctx, Session
from channels.yookassa.links import PaymentLinkFailed, create_payment_link
from crm_core.online_payments.service import list_notifications, list_online_payments

router = APIRouter(tags=["payments online"])
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


class PaymentLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Annotated[Decimal | None, Field(gt=0, max_digits=15, decimal_places=2)] = None
    return_url: Annotated[str | None, Field(max_length=2000, pattern=r"^https?://")] = None


class PaymentLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    provider: str
    payment_id: str
    order_id: int
    amount: Money
    currency: str
    status: str
    confirmation_url: str | None
    core_payment_id: int | None
    created_at: datetime


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    provider: str
    event: str
    object_id: str
    status: str | None
    order_id: int | None
    amount: Money | None
    currency: str | None
    outcome: str
    message: str | None
    received_at: datetime


class NotificationList(BaseModel):
    items: list[NotificationOut]
    total: int


@router.post("/orders/{order_id}/payment-link", response_model=PaymentLinkOut, status_code=201)
async def make_payment_link(
    order_id: int, body: PaymentLinkIn, session: Session, ctx: Ctx
) -> PaymentLinkOut:
    """A ЮKassa payment for what is left to pay (or ``amount``); a pending link of the same
    amount is returned again rather than doubled."""
    if not ctx.yookassa.config.configured:
        raise HTTPException(503, "ЮKassa is not configured (FIRMA_YOOKASSA_SHOP_ID/SECRET_KEY)")
    try:
        row = await create_payment_link(
            session, ctx.yookassa, order_id=order_id, amount=body.amount, return_url=body.return_url
        )
    except PaymentLinkFailed as exc:
        raise HTTPException(502, str(exc)) from exc
    return PaymentLinkOut.model_validate(row)


@router.get("/orders/{order_id}/payment-links", response_model=list[PaymentLinkOut])
async def get_payment_links(order_id: int, session: Session) -> list[PaymentLinkOut]:
    return [
        PaymentLinkOut.model_validate(r)
        for r in await list_online_payments(session, order_id=order_id)
    ]


@router.get("/payment-notifications", response_model=NotificationList)
async def get_notifications(
    session: Session,
    outcome: str | None = None,
    order_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotificationList:
    """Notifications newest first; ``?outcome=unknown_order`` lists those to settle."""
    items, total = await list_notifications(
        session, outcome=outcome, order_id=order_id, limit=limit, offset=offset
    )
    return NotificationList(items=[NotificationOut.model_validate(i) for i in items], total=total)
