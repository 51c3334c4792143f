from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, str_enum
from crm_core.models.contact import ContactPoint
from crm_core.models.enums import LeadResult, LeadSource


class LeadState(Base):
    """A kanban column; ordered and editable."""

    __tablename__ = "lead_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class HideReason(Base):
    """Why a lead was hidden (spam, duplicate, not a customer...); editable list."""

    __tablename__ = "hide_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_result_state_created", "result", "state_id", "created_at"),
        Index("ix_leads_created_at", "created_at"),
        # The office's lead list (newest open first) and a manager's own board and list.
        Index("ix_leads_result_created", "result", "created_at", "id"),
        Index(
            "ix_leads_responsible_result_state",
            "responsible_id",
            "result",
            "state_id",
            "created_at",
        ),
        # A name search (ILIKE '%text%' over name OR company) on PostgreSQL: pg_trgm GIN
        # indexes (migration 0009). SQLite has no such index: it scans, as before.
        *(
            Index(
                f"ix_leads_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                info={"postgresql_only": True},
            ).ddl_if(dialect="postgresql")
            for column in ("name", "company")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str | None] = mapped_column(String(200))
    legal_name: Mapped[str | None] = mapped_column(String(300))
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[LeadSource] = mapped_column(str_enum(LeadSource), default=LeadSource.MANUAL)
    source_detail: Mapped[str | None] = mapped_column(String(200))
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    state_id: Mapped[int] = mapped_column(ForeignKey("lead_states.id"))
    result: Mapped[LeadResult] = mapped_column(str_enum(LeadResult), default=LeadResult.OPEN)
    hide_reason_id: Mapped[int | None] = mapped_column(ForeignKey("hide_reasons.id"))
    hide_comment: Mapped[str | None] = mapped_column(String(500))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    converted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    state: Mapped[LeadState] = relationship(lazy="raise")
    contacts: Mapped[list[ContactPoint]] = relationship(
        lazy="raise",
        primaryjoin="Lead.id == ContactPoint.lead_id",
        order_by="ContactPoint.id",
        cascade="all, delete-orphan",
    )
