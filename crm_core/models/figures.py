"""Orders' daily figures: a small summary the funnel and the plan read instead of orders."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base

NOBODY = 0  # responsible_id of orders without a responsible (a key column cannot be NULL)


class OrderDayFigure(Base):
    """How many orders, and their totals, per UTC day of ``orders.date``, kind, state and
    responsible. Kept by the order services in the same transaction as each order change
    (``crm_core/orders/figures.py``): deltas added with an upsert, so rows may hold zeros.
    Amounts are whole kopecks, exact on SQLite too (it would add decimals as floats)."""

    __tablename__ = "order_day_figures"
    __table_args__ = (Index("ix_order_day_figures_day", "day"),)

    kind_id: Mapped[int] = mapped_column(
        ForeignKey("order_kinds.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # A state is deleted only when no order is in it, so its rows hold zeros by then.
    state_id: Mapped[int] = mapped_column(
        ForeignKey("order_states.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: NOBODY (0) stands for "no responsible".
    responsible_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(default=0)
    amount_kopecks: Mapped[int] = mapped_column(BigInteger, default=0)


class CustomerOrderMarks(Base):
    """Per customer, how many orders are live (not cancelled) and how many of those are
    fully paid (``paid_amount >= total > 0``): the funnel's lead → customer → order →
    paid chain reads these instead of looking into every cohort customer's orders.
    Kept with ``order_day_figures`` by the same services; rows may hold zeros."""

    __tablename__ = "customer_order_marks"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    live_orders: Mapped[int] = mapped_column(default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
