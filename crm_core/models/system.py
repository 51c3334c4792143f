"""Rows the core keeps for itself: outbox, history, numbering, sales plan, firm."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, BigId, JSONType, Money, str_enum
from crm_core.models.enums import OutboxStatus


class OutboxEvent(Base):
    """A domain event written in the same transaction as the change it reports."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class HistoryEntry(Base):
    """One change of a lead, customer, order or event: who, when, what from what to what."""

    __tablename__ = "history"
    __table_args__ = (Index("ix_history_entity", "entity_type", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(30))
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    at: Mapped[datetime]


class NumberSequence(Base):
    """The last number given per series and year (orders, invoices)."""

    __tablename__ = "number_sequences"
    __table_args__ = (UniqueConstraint("series", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    last: Mapped[int] = mapped_column(default=0)


class SalesPlan(Base):
    """Planned sales for a month, per employee (or the firm) and optionally a group."""

    __tablename__ = "sales_plans"
    __table_args__ = (UniqueConstraint("period", "employee_id", "product_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date] = mapped_column(Date)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    product_group_id: Mapped[int | None] = mapped_column(ForeignKey("product_groups.id"))
    amount: Mapped[Money]


class FirmSetting(Base):
    """Key-value settings of the firm (requisites, exchange logins...)."""

    __tablename__ = "firm_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
