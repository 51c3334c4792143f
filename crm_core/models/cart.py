"""The Telegram customer's cart and bot preferences: durable, so a restart loses nothing.

Keyed by the Telegram user id, not by a customer: people browse and fill a cart
before they share their phone (and may never become a customer).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
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
