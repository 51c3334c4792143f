from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, Money, str_enum
from crm_core.models.contact import ContactPoint
from crm_core.models.enums import Channel, CustomerKind, LeadSource


class Customer(Base):
    """A counterparty: a person or a company."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind), default=CustomerKind.PERSON)
    legal_name: Mapped[str | None] = mapped_column(String(300))
    inn: Mapped[str | None] = mapped_column(String(12), index=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    address: Mapped[str | None] = mapped_column(String(500))
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    telegram_unreachable: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    # The customer's own IANA time zone (SMS quiet hours are theirs, not the firm's);
    # None: guessed from the phone number, else the firm's zone.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[LeadSource | None] = mapped_column(str_enum(LeadSource))
    comment: Mapped[str | None] = mapped_column(Text)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    # Denormalised for segments and lists; kept by the order and payment services.
    orders_count: Mapped[int] = mapped_column(default=0)
    total_spent: Mapped[Money] = mapped_column(default=0)
    last_order_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    contacts: Mapped[list[ContactPoint]] = relationship(
        lazy="raise",
        primaryjoin="Customer.id == ContactPoint.customer_id",
        order_by="ContactPoint.id",
        cascade="all, delete-orphan",
    )
    contact_persons: Mapped[list[ContactPerson]] = relationship(
        lazy="raise", order_by="ContactPerson.id", cascade="all, delete-orphan"
    )
    tags: Mapped[list[CustomerTag]] = relationship(
        lazy="raise", order_by="CustomerTag.tag", cascade="all, delete-orphan"
    )
    consents: Mapped[list[Consent]] = relationship(
        lazy="raise", order_by="Consent.channel", cascade="all, delete-orphan"
    )


class ContactPerson(Base):
    __tablename__ = "contact_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    # Read side only: the person's phones/emails are written through the customer
    # (each row carries both customer_id and contact_person_id).
    contacts: Mapped[list[ContactPoint]] = relationship(
        lazy="raise",
        primaryjoin="ContactPerson.id == ContactPoint.contact_person_id",
        order_by="ContactPoint.id",
        viewonly=True,
    )


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag"), Index("ix_customer_tags_tag", "tag"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))


class Consent(Base):
    """A customer's marketing consent for one channel, with its evidence."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    granted: Mapped[bool]
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(200))
