"""The Telegram customer's cart, bot preferences, status pushes and Telegram payments:
durable, so a restart loses nothing.

Keyed by the Telegram user id, not by a customer: people browse and fill a cart
before they share their phone (and may never become a customer).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, Quantity


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("telegram_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[Quantity]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TelegramVisitor(Base):
    """What the bot remembers of a Telegram user who is not necessarily linked yet."""

    __tablename__ = "telegram_visitors"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TelegramPush(Base):
    """One status push per (outbox event, Telegram chat): written before the message is
    sent, so an event handed over again (worker restart, lease expiry) pushes nothing twice."""

    __tablename__ = "telegram_pushes"
    __table_args__ = (UniqueConstraint("event_id", "telegram_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # pending (being sent; retried after the lease), sent, blocked (403: never retried)
    status: Mapped[str] = mapped_column(String(20))
    attempted_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class TelegramCharge(Base):
    """Every ``successful_payment`` Telegram reported, once per charge id: the money was
    taken, so it is kept even when the core refuses it (order closed meanwhile, amount
    changed); those wait for a person as ``needs_attention``."""

    __tablename__ = "telegram_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_id: Mapped[str] = mapped_column(String(255), unique=True)
    provider_charge_id: Mapped[str | None] = mapped_column(String(255))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Numeric(15, 2))
    currency: Mapped[str] = mapped_column(String(3))
    # registered (a core payment), needs_attention (charged, not registered: see reason)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
