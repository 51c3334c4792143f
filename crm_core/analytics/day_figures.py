"""Orders counted and summed over a period, read from ``order_day_figures``.

The summary holds whole UTC days; a report's period is whole days of the firm's time
zone, so its bounds rarely fall on UTC midnight. The whole UTC days inside ``[lo, hi)``
come from the summary (a few rows per day), the hours before the first and after the
last of them from the orders themselves (one index range each, at most a day's orders
in all). Exact for any time zone, with no assumption about its offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.analytics.periods import money
from crm_core.models import NOBODY, Order, OrderDayFigure, OrderState, StateCategory

Figures = dict[int | None, tuple[int, Decimal]]


def _whole_days(lo: datetime, hi: datetime):
    """The first and the end (exclusive) UTC day wholly inside ``[lo, hi)``."""
    lo, hi = lo.astimezone(UTC), hi.astimezone(UTC)
    first = lo.date() if lo.time() == time(0) else lo.date() + timedelta(days=1)
    return first, hi.date()


def _midnight(day) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def order_figures(
    session: AsyncSession,
    *,
    lo: datetime,
    hi: datetime,
    by: str,
    kind_id: int | None = None,
    responsible_id: int | None = None,
    without_cancelled: bool = False,
) -> Figures:
    """{``by`` value: (orders, amount)} of orders dated in ``[lo, hi)``, ``by`` being
    ``"state_id"`` or ``"responsible_id"`` (None for orders without a responsible)."""
    first, end = _whole_days(lo, hi)
    result: dict[int | None, list] = {}

    def add(key, n, amount):
        bucket = result.setdefault(key, [0, money(0)])
        bucket[0] += n
        bucket[1] += amount

    if first < end:
        f = OrderDayFigure
        summary = select(getattr(f, by), func.sum(f.orders), func.sum(f.amount_kopecks)).where(
            f.day >= first, f.day < end
        )
        if kind_id is not None:
            summary = summary.where(f.kind_id == kind_id)
        if responsible_id is not None:
            summary = summary.where(f.responsible_id == responsible_id)
        if without_cancelled:
            summary = summary.join(OrderState, OrderState.id == f.state_id).where(
                OrderState.category != StateCategory.CANCELLED
            )
        for key, n, kop in await session.execute(summary.group_by(getattr(f, by))):
            if by == "responsible_id" and key == NOBODY:
                key = None
            add(key, int(n or 0), money(Decimal(int(kop or 0)) / 100))
        edges = or_(
            and_(Order.date >= lo, Order.date < _midnight(first)),
            and_(Order.date >= _midnight(end), Order.date < hi),
        )
    else:
        edges = and_(Order.date >= lo, Order.date < hi)
    direct = select(getattr(Order, by), func.count(), func.sum(Order.total)).where(edges)
    if kind_id is not None:
        direct = direct.where(Order.kind_id == kind_id)
    if responsible_id is not None:
        direct = direct.where(Order.responsible_id == responsible_id)
    if without_cancelled:
        direct = direct.where(Order.category != StateCategory.CANCELLED)
    group_key = getattr(Order, by)
    if by == "state_id" and session.bind.dialect.name == "sqlite":
        # SQLite would group along ix_orders_state_date_id and read every row of the
        # table; "+state_id" keeps it on the covering ix_orders_kind_date.
        group_key = literal_column("+orders.state_id")
    for key, n, total in await session.execute(direct.group_by(group_key)):
        add(key, n, money(total))
    return {key: (n, amount) for key, (n, amount) in result.items() if n or amount}
