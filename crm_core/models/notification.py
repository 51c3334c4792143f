"""What the bot tells an employee: one durable row per (subject, employee).

The row carries the rendered message and is committed before anything is sent; the
staff sender leases due rows, sends, and marks each sent right after its send. So a
redelivered outbox event, a re-claimed reminder or a second worker never sends one
twice (the unique ``(key, employee_id)``), a crash loses nothing (the lease runs out
and the row is sent again), and only a message in flight at the crash may go out twice.

``key`` names what the row is about: ``outbox:<event id>``, ``reminder:<kind>:<id>:<at>``,
``agenda:<employee's local date>``, ``overdue:<order id>``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, JSONType, str_enum


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class StaffNotification(Base):
    __tablename__ = "staff_notifications"
    __table_args__ = (
        UniqueConstraint("key", "employee_id"),
        Index("ix_staff_notifications_lead", "lead_id"),
        Index("ix_staff_notifications_order", "order_id", "topic"),
        Index("ix_staff_notifications_due", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    # No foreign key: done outbox rows are purged, the delivery record stays.
    outbox_event_id: Mapped[int | None] = mapped_column(BigInteger)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    topic: Mapped[str] = mapped_column(String(100))
    lead_id: Mapped[int | None]
    order_id: Mapped[int | None]
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    text: Mapped[str | None] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    language: Mapped[str] = mapped_column(String(8), default="ru")
    # A reminder's minute: sent later than the sender's tolerance, the message says so.
    due_at: Mapped[datetime | None]
    available_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
