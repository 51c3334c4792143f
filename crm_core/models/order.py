"""Customer orders, their kinds and states, lines, payments and shipments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, Money, Quantity, str_enum
from crm_core.models.enums import PaymentMethod, StateCategory


class OrderKind(Base):
    __tablename__ = "order_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    states: Mapped[list[OrderState]] = relationship(
        lazy="raise", order_by="OrderState.position", cascade="all, delete-orphan"
    )


class OrderState(Base):
    """A state of one order kind; its category decides what the order may do."""

    __tablename__ = "order_states"
    __table_args__ = (UniqueConstraint("kind_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("order_kinds.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[StateCategory] = mapped_column(str_enum(StateCategory))
    position: Mapped[int] = mapped_column(default=0)
    is_initial: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_date_id", "date", "id"),
        Index("ix_orders_state_date_id", "state_id", "date", "id"),
        Index("ix_orders_kind_date", "kind_id", "date", "state_id", "total"),
        Index("ix_orders_customer_date", "customer_id", "date"),
        # The journal sorted by amount (crm_core/orders/journal.py).
        Index("ix_orders_total_id", "total", "id"),
        Index("ix_orders_responsible_date", "responsible_id", "date"),
        # The indicator filters walk it newest first; due_at and the amounts ride along
        # so "late and not done" is decided in the index (the capped count reads no rows).
        Index(
            "ix_orders_category_date",
            "category",
            "date",
            "id",
            "due_at",
            "total",
            "shipped_amount",
            "paid_amount",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    date: Mapped[datetime]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind_id: Mapped[int] = mapped_column(ForeignKey("order_kinds.id"))
    state_id: Mapped[int] = mapped_column(ForeignKey("order_states.id"))
    # Copied from the state so the journal filters by indicator without a join.
    category: Mapped[StateCategory] = mapped_column(str_enum(StateCategory))
    price_kind_id: Mapped[int | None] = mapped_column(ForeignKey("price_kinds.id"))
    total: Mapped[Money] = mapped_column(default=0)
    vat_amount: Mapped[Money] = mapped_column(default=0)
    paid_amount: Mapped[Money] = mapped_column(default=0)
    shipped_amount: Mapped[Money] = mapped_column(default=0)
    due_at: Mapped[datetime | None]
    channel: Mapped[str] = mapped_column(String(30), default="manual")
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    delivery_address: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    lines: Mapped[list[OrderLine]] = relationship(
        lazy="raise", order_by="OrderLine.position", cascade="all, delete-orphan"
    )
    state: Mapped[OrderState] = relationship(lazy="raise")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20), default="шт")
    quantity: Mapped[Quantity]
    price: Mapped[Money]
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=0)
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount: Mapped[Money]
    vat_amount: Mapped[Money] = mapped_column(default=0)
    shipped_quantity: Mapped[Quantity] = mapped_column(default=0)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Money]
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    paid_at: Mapped[datetime] = mapped_column(index=True)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Money]
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    shipped_at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]

    lines: Mapped[list[ShipmentLine]] = relationship(lazy="raise", cascade="all, delete-orphan")


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[Quantity]
    amount: Mapped[Money]
