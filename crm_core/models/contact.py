from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, str_enum
from crm_core.models.enums import ContactKind


class ContactPoint(Base):
    """A normalised phone (E.164), email (lower-cased) or Telegram id of a lead,
    customer or contact person. One indexed table makes de-duplication a single
    lookup whoever owns the contact."""

    __tablename__ = "contact_points"
    __table_args__ = (
        Index("ix_contact_points_kind_value", "kind", "value"),
        CheckConstraint(
            "(lead_id IS NULL) <> (customer_id IS NULL)",
            name="one_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, 10))
    value: Mapped[str] = mapped_column(String(254))
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    contact_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_persons.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime]
