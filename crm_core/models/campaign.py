"""Campaigns and their per-recipient delivery log.

A campaign's progress lives only in ``campaign_deliveries``: one row per
(campaign, customer), written when the campaign starts, then moved
pending → sending → sent | failed | skipped by the workers. A restart resumes
from the rows; nothing is kept in memory.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, BigId, str_enum
from crm_core.models.enums import Channel


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    # Claimed by a worker, with a lease (claimed_at): an expired lease means the
    # worker died mid-send, and the row goes back to pending.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_state_scheduled", "state", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[CampaignState] = mapped_column(
        str_enum(CampaignState), default=CampaignState.DRAFT
    )
    scheduled_at: Mapped[datetime | None]
    rate_per_second: Mapped[int] = mapped_column(default=10)
    # Auto-pause: the campaign pauses itself once more than this many rows failed since
    # it was (re)started (0: never). ``recent_failures`` counts them; a resume resets it.
    max_errors: Mapped[int] = mapped_column(default=100, server_default="100")
    recent_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    # Why the campaign paused itself (too many failures, the gateway's balance ran out…).
    pause_reason: Mapped[str | None] = mapped_column(Text)
    # Set once, when the recipients were snapshotted into deliveries.
    snapshot_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Delivery(Base):
    __tablename__ = "campaign_deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        Index("ix_campaign_deliveries_claim", "campaign_id", "status", "id"),
        Index("ix_campaign_deliveries_customer", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    address: Mapped[str | None] = mapped_column(String(254))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    # A transient failure (SMTP 4xx) waits until then before the next attempt.
    retry_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(200))
    # The SMTP/gateway answer for failures, the reason for skips.
    detail: Mapped[str | None] = mapped_column(Text)


class SuppressedAddress(Base):
    """An address a server refused for good (SMTP 5xx at RCPT, a gateway's invalid
    number): later campaigns skip it instead of burning the sender's reputation."""

    __tablename__ = "suppressed_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    address: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class SmsReport(Base):
    """An SMS the gateway accepted, waiting for its delivery report: the worker asks the
    provider at ``due_at`` (sooner first, then less often) until the operator's answer
    is final or two days have passed. For a campaign row (``delivery_id``) or a single
    send (``event_id``: the report becomes the event's ``delivery_status``)."""

    __tablename__ = "sms_reports"
    __table_args__ = (Index("ix_sms_reports_due", "provider", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("campaign_deliveries.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime]
    # When to ask next; None once the answer is final (``status`` says which).
    due_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(default=0)
    # delivered, undelivered, or unknown (no final answer within two days).
    status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
