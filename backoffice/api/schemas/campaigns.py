"""Shapes of campaigns in the REST API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backoffice.api.schemas_common import InputSchema, Schema

Channel = Literal["email", "sms", "telegram"]
State = Literal["draft", "scheduled", "sending", "paused", "finished", "cancelled"]


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[str] | None = Field(None, max_length=50)
    source: str | None = None
    has_orders: bool | None = None
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    min_total: Decimal | None = Field(None, ge=0)
    responsible_id: int | None = Field(None, ge=1)


class CampaignCreate(InputSchema):
    name: str = Field(max_length=200)
    channel: Channel
    template_id: int = Field(ge=1)
    segment: Segment = Field(default_factory=Segment)
    scheduled_at: datetime | None = None
    rate_per_second: int = Field(10, ge=1, le=10_000)
    # Pause by itself after this many failed deliveries since the (re)start; 0: never.
    max_errors: int = Field(100, ge=0, le=1_000_000)


class CampaignOut(Schema):
    id: int
    name: str
    channel: Channel
    template_id: int
    segment: dict[str, Any]
    state: State
    scheduled_at: datetime | None
    rate_per_second: int
    max_errors: int
    recent_failures: int
    pause_reason: str | None
    snapshot_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    counts: dict[str, int] = Field(default_factory=dict)
    # SMS campaigns: the sent messages by the operator's delivery report (delivered,
    # undelivered, unknown, waiting); null for the other channels.
    reports: dict[str, int] | None = None
