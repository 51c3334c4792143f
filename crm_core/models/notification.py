"""What the bot told an employee about a domain event: one row per (event, employee).

The row is written (``pending``) and committed before the message is sent and marked
``sent`` after, so a redelivered outbox event skips who already got it; only a
message in flight when the worker died may go out twice.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, str_enum


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class StaffNotification(Base):
    __tablename__ = "staff_notifications"
    __table_args__ = (
        UniqueConstraint("outbox_event_id", "employee_id"),
        Index("ix_staff_notifications_lead", "lead_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: done outbox rows are purged, the delivery record stays.
    outbox_event_id: Mapped[int] = mapped_column(BigInteger)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    topic: Mapped[str] = mapped_column(String(100))
    lead_id: Mapped[int | None]
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
