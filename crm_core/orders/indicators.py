"""How far an order got (shipped %, paid %) and its traffic-light indicator.

Rules (the same in Python and in SQL):
- percents are floored integers 0..100, so 100 means "all of it";
- an order with total 0 (empty, or only free lines) is 0% shipped and paid: there is
  nothing to measure, and an empty order past its due date should stay visible as
  ``overdue`` until someone fills it in or closes it;
- ``cancelled``: the state's category is cancelled; ``closed``: completed;
- ``overdue``: open, ``due_at`` is in the past (strictly), and not both fully
  shipped and fully paid; otherwise ``on_time`` (also when there is no due date).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import ColumnElement, and_, false, not_, or_

from crm_core.models import Order, OrderIndicator, StateCategory


def _percent(part: Decimal | None, whole: Decimal | None) -> int:
    if not whole or whole <= 0:
        return 0
    value = (Decimal(part or 0) * 100 / Decimal(whole)).to_integral_value(ROUND_FLOOR)
    return max(0, min(100, int(value)))


def shipped_percent(order: Order) -> int:
    """Share of the order's amount shipped, floored (0 for a zero total)."""
    return _percent(order.shipped_amount, order.total)


def paid_percent(order: Order) -> int:
    """Share of the order's amount paid, floored (0 for a zero total)."""
    return _percent(order.paid_amount, order.total)


def is_done(order: Order) -> bool:
    """Fully shipped and fully paid (a zero total never is)."""
    total = order.total or 0
    return total > 0 and order.shipped_amount >= total and order.paid_amount >= total


def indicator_of(order: Order, now: datetime) -> OrderIndicator:
    """on_time / overdue / closed / cancelled for one order at ``now``."""
    if order.category == StateCategory.CANCELLED:
        return OrderIndicator.CANCELLED
    if order.category == StateCategory.COMPLETED:
        return OrderIndicator.CLOSED
    if order.due_at is not None and order.due_at < now and not is_done(order):
        return OrderIndicator.OVERDUE
    return OrderIndicator.ON_TIME


def _done_sql() -> ColumnElement[bool]:
    return and_(
        Order.total > 0, Order.shipped_amount >= Order.total, Order.paid_amount >= Order.total
    )


def indicator_filter(indicator: OrderIndicator | str, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause selecting the orders whose ``indicator_of`` is ``indicator`` at ``now``."""
    indicator = OrderIndicator(indicator)
    if indicator is OrderIndicator.CANCELLED:
        return Order.category == StateCategory.CANCELLED
    if indicator is OrderIndicator.CLOSED:
        return Order.category == StateCategory.COMPLETED
    is_open = Order.category == StateCategory.OPEN
    late = and_(Order.due_at.is_not(None), Order.due_at < now)
    if indicator is OrderIndicator.OVERDUE:
        return and_(is_open, late, not_(_done_sql()))
    if indicator is OrderIndicator.ON_TIME:
        return and_(is_open, or_(not_(late), _done_sql()))
    return false()  # pragma: no cover - every member is handled above
