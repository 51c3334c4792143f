"""Online payments at a provider (ЮKassa), the notifications it sent, and the stores
that push orders as signed JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, BigId, JSONType, Money


class OnlinePayment(Base):
    """A payment created at the provider for an order (the customer pays by its link)."""

    __tablename__ = "online_payments"
    __table_args__ = (UniqueConstraint("provider", "payment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    status: Mapped[str] = mapped_column(String(30))
    confirmation_url: Mapped[str | None] = mapped_column(String(2000))
    idempotence_key: Mapped[str] = mapped_column(String(64))
    core_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaymentNotification(Base):
    """One notification as received and what became of it (``outcome``): kept also when
    it named an unknown order, so a person can see and settle it."""

    __tablename__ = "payment_notifications"
    __table_args__ = (Index("ix_payment_notifications_object", "provider", "object_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(30))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[Money | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(30))
    message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(index=True)


class OrderWebhookSource(Base):
    """A store that pushes its orders to ``POST /channels/orders/{code}``, signing each
    body with HMAC-SHA256 under ``secret`` (kept as is: verifying needs the key)."""

    __tablename__ = "order_webhook_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
