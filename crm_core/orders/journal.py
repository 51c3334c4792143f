"""The orders journal: filtered, newest first, fast over a million orders.

Each filter maps onto an index of ``models/order.py`` ending in ``(date, id)``, so
``ORDER BY date DESC, id DESC LIMIT n`` reads only the rows it returns (the indicator
filters use ``(category, date, id, due_at)``: an open order's lateness is checked in
the index, and only the few not-yet-due orders at the head are stepped over). The total is
counted over at most ``COUNT_CAP`` rows (``SELECT count(*) FROM (... LIMIT cap)``):
an exact COUNT(*) over a million rows would cost more than the page itself, and
nobody pages through ten thousand orders; a total equal to the cap means "at least".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.context import now
from crm_core.errors import ValidationFailed
from crm_core.models import Customer, Employee, Order, OrderIndicator, OrderState
from crm_core.numbering import ORDER_SERIES, PREFIXES
from crm_core.orders.indicators import indicator_filter

COUNT_CAP = 10_000
ORDER_PREFIX = PREFIXES[ORDER_SERIES]
# The journal's orders: each key ascending, "-key" descending; ties by the order id.
JOURNAL_SORTS = ("date", "-date", "amount", "-amount", "customer", "-customer")


def _ordering(sort: str) -> tuple[list, bool]:
    """ORDER BY of a journal sort, and whether it needs the customers joined.

    ``amount`` walks ``ix_orders_total_id``; ``customer`` walks ``ix_customers_name``
    and each customer's orders along ``ix_orders_customer_date`` (newest first within
    one name), so a page reads about the rows it shows, not the million."""
    if sort not in JOURNAL_SORTS:
        raise ValidationFailed(f"Unknown sort {sort!r}", field="sort")
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "date":
        columns = [Order.date, Order.id]
    elif key == "amount":
        columns = [Order.total, Order.id]
    else:
        columns = [Customer.name, Customer.id]
    ordered = [c.desc() if desc else c.asc() for c in columns]
    if key == "customer":
        ordered += [Order.date.desc(), Order.id.desc()]
    return ordered, key == "customer"


async def list_orders(
    session: AsyncSession,
    *,
    state_id: int | None = None,
    state_code: str | None = None,
    kind_id: int | None = None,
    customer_id: int | None = None,
    responsible_id: int | None = None,
    indicator: OrderIndicator | str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = True,
    sort: str | None = None,
) -> tuple[list[Order], int]:
    """Orders newest first (``date DESC, id DESC``; ``newest_first=False``: oldest first)
    with states; total capped at COUNT_CAP. ``sort`` (one of ``JOURNAL_SORTS``) orders
    by date, amount or customer name instead.

    ``date_from`` is inclusive, ``date_to`` exclusive; ``q`` is an external id or an
    order number, whole or its sequence (``123`` finds ``ЗК-2026-000123`` of recent years).
    """
    conditions = []
    if state_id is not None:
        conditions.append(Order.state_id == state_id)
    if state_code:
        ids = select(OrderState.id).where(OrderState.code == state_code)
        if kind_id is not None:
            ids = ids.where(OrderState.kind_id == kind_id)
        state_ids = list(await session.scalars(ids))
        if not state_ids:
            raise ValidationFailed(f"Unknown order state {state_code!r}", field="state")
        conditions.append(Order.state_id.in_(state_ids))
    if kind_id is not None:
        conditions.append(Order.kind_id == kind_id)
    if customer_id is not None:
        conditions.append(Order.customer_id == customer_id)
    if responsible_id is not None:
        conditions.append(Order.responsible_id == responsible_id)
    if indicator is not None:
        try:
            conditions.append(indicator_filter(indicator, now(session)))
        except ValueError as exc:
            raise ValidationFailed(f"Unknown indicator {indicator!r}", field="indicator") from exc
    if date_from is not None:
        conditions.append(Order.date >= date_from)
    if date_to is not None:
        conditions.append(Order.date < date_to)
    q = (q or "").replace("\x00", "")  # PostgreSQL text never holds NUL
    if q.strip():
        text = q.strip()
        numbers = [text]
        if text.isdigit() and len(text) <= 6:
            # Spelled out for each year, so the unique index on number answers it.
            year = now(session).year
            numbers += [f"{ORDER_PREFIX}-{y}-{int(text):06d}" for y in range(year - 15, year + 2)]
        # Found first through the unique indexes: a handful of ids. Inside the main query
        # SQLite would rather walk the whole date index to honour the ORDER BY.
        ids = list(await session.scalars(select(Order.id).where(Order.number.in_(numbers))))
        ids += await session.scalars(select(Order.id).where(Order.external_id == text))
        if not ids:
            return [], 0
        conditions.append(Order.id.in_(ids))
    # Counted along the page's own path (newest first): left unordered, the planner may
    # walk an index oldest first, where e.g. on-time orders are rare, and read it all.
    ordering = (Order.date.desc(), Order.id.desc()) if newest_first else (Order.date, Order.id)
    capped = select(Order.id).where(*conditions).order_by(*ordering).limit(COUNT_CAP).subquery()
    total = await session.scalar(select(func.count()).select_from(capped)) or 0
    page = select(Order).where(*conditions).options(selectinload(Order.state))
    if sort is not None:
        ordering_, joined = _ordering(sort)
        if joined:
            customer_id = Customer.id
            if session.bind.dialect.name == "sqlite":
                # "+" keeps SQLite from walking every order and looking up its customer
                # (then sorting them all): it walks ix_customers_name instead.
                customer_id = literal_column("+customers.id")
            page = page.join(Customer, customer_id == Order.customer_id)
        page = page.order_by(*ordering_)
    else:
        page = page.order_by(*ordering)
    rows = list(await session.scalars(page.limit(limit).offset(offset)))
    # Past the cap, the page itself proves there are at least offset + len(rows).
    return rows, max(total, offset + len(rows))


async def journal_names(
    session: AsyncSession, orders: Sequence[Order]
) -> tuple[dict[int, str], dict[int, str]]:
    """Names for a journal page: ``({customer_id: name}, {employee_id: name})``, two
    look-ups by primary key whatever the page size (no query per row)."""
    customer_ids = {o.customer_id for o in orders}
    employee_ids = {o.responsible_id for o in orders if o.responsible_id is not None}
    customers: dict[int, str] = {}
    employees: dict[int, str] = {}
    if customer_ids:
        rows = await session.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))
        )
        customers = {i: n for i, n in rows}
    if employee_ids:
        rows = await session.execute(
            select(Employee.id, Employee.name).where(Employee.id.in_(employee_ids))
        )
        employees = {i: n for i, n in rows}
    return customers, employees
