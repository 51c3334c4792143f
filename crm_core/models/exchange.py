"""Exchanges with outside systems (1C, online stores): the log of what moved and what
failed, the stores Firma exchanges with, and each order's place in those exchanges."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, BigId, JSONType, Money


class ExchangeLog(Base):
    """One exchange step sequence for one file (or one query) with one peer.

    ``position`` is how many records of the file are done: a large file is imported
    in steps (1C repeats ``mode=import`` while the answer is ``progress``), and the
    next step resumes from here, so a process restart loses nothing but one step.
    """

    __tablename__ = "exchange_logs"
    __table_args__ = (
        Index("ix_exchange_logs_session_file", "session_key", "filename"),
        Index("ix_exchange_logs_store_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    peer: Mapped[str] = mapped_column(String(30))  # "1c" or "store"
    direction: Mapped[str] = mapped_column(String(10))  # "in" to Firma, "out" of it, "both"
    type: Mapped[str] = mapped_column(String(20))  # "catalog", "sale", "run"
    mode: Mapped[str] = mapped_column(String(20))  # "import", "query", ...
    filename: Mapped[str | None] = mapped_column(String(300))
    session_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="running")
    position: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))


class Store(Base):
    """An online store (1C-Bitrix, UMI, InSales...) Firma exchanges with as the business
    system: Firma is the CommerceML client, the store's exchange URL the server."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    exchange_url: Mapped[str] = mapped_column(String(500))
    login: Mapped[str] = mapped_column(String(100))
    # Fernet (AES-128-CBC + HMAC) under a key derived from FIRMA_SECRET_KEY: the client
    # needs the password itself, so it cannot be hashed; it is never returned.
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    schedule_minutes: Mapped[int] = mapped_column(default=60)
    enabled: Mapped[bool] = mapped_column(default=True)
    send_catalog: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    # A worker claims a run by moving this forward in one conditional UPDATE.
    lease_until: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StoreOrder(Base):
    """An order read from a store: the site's id and number, and what Firma last told
    the store (or heard from it) about state, payment and shipment."""

    __tablename__ = "store_orders"
    __table_args__ = (UniqueConstraint("store_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    site_id: Mapped[str] = mapped_column(String(100))
    site_number: Mapped[str | None] = mapped_column(String(60))
    synced_state_id: Mapped[int | None] = mapped_column(ForeignKey("order_states.id"))
    synced_paid: Mapped[Money] = mapped_column(default=Decimal(0))
    synced_shipped: Mapped[Money] = mapped_column(default=Decimal(0))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OnecOrder(Base):
    """An order's way to the firm's 1C: sent in which ``query``, taken (1C answered
    ``success``), and what 1C said back (its number and date, posted)."""

    __tablename__ = "onec_orders"
    __table_args__ = (Index("ix_onec_orders_query_key", "query_key"),)

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    query_key: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]
    number_1c: Mapped[str | None] = mapped_column(String(60))
    date_1c: Mapped[datetime | None]
    posted: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class ProductProperty(Base):
    """A property value of a product from the accounting system's classifier
    (name as the classifier calls it, the value resolved from its dictionary)."""

    __tablename__ = "product_properties"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(1000))
