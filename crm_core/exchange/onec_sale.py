"""The sale direction with the firm's 1C: orders out (``query`` / ``success``) and
what 1C says back about them (``file`` + ``import``: its number and date, posted,
cancelled, paid, shipped) applied through the order services, idempotently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import DomainError
from crm_core.exchange.batches import note
from crm_core.exchange.order_documents import build_documents, order_query
from crm_core.exchange.records import OrderDocument
from crm_core.models import OnecOrder, Order, OrderState, PaymentMethod, StateCategory
from crm_core.orders.service import (
    change_order_state,
    get_order,
    register_payment,
    register_shipment,
)

QUERY_LIMIT = 500


async def orders_for_1c(
    session: AsyncSession, *, query_key: str, timezone: str, limit: int = QUERY_LIMIT
) -> list[OrderDocument]:
    """Orders 1C has not taken yet (every channel), oldest first, marked as sent in
    this query: ``success`` with the same key marks exactly these taken."""
    taken = exists().where(OnecOrder.order_id == Order.id, OnecOrder.taken_at.is_not(None))
    orders = list(
        await session.scalars(order_query().where(~taken).order_by(Order.id).limit(limit))
    )
    at = now(session)
    rows = {
        r.order_id: r
        for r in await session.scalars(
            select(OnecOrder).where(OnecOrder.order_id.in_([o.id for o in orders]))
        )
    }
    for order in orders:
        row = rows.get(order.id)
        if row is None:
            row = OnecOrder(order_id=order.id, posted=False)
            session.add(row)
        row.query_key, row.sent_at, row.updated_at = query_key, at, at
    await session.flush()
    return await build_documents(session, orders, timezone=timezone)


async def mark_taken_by_1c(session: AsyncSession, *, query_key: str) -> int:
    """1C answered ``success``: the orders of that query are taken (one UPDATE)."""
    at = now(session)
    result = await session.execute(
        update(OnecOrder)
        .where(OnecOrder.query_key == query_key, OnecOrder.taken_at.is_(None))
        .values(taken_at=at, updated_at=at)
    )
    return result.rowcount or 0


async def _find_order(session: AsyncSession, document: OrderDocument) -> Order | None:
    keys = {document.external_id, document.number}
    site_number = document.requisite("Номер по данным сайта") or document.requisite(
        "Номер заказа на сайте"
    )
    if site_number:
        keys.add(site_number)
    keys.discard("")
    return await session.scalar(
        select(Order).where(or_(*(Order.number == k for k in keys))).limit(1)
    )


async def state_of_category(
    session: AsyncSession, kind_id: int, category: StateCategory
) -> OrderState | None:
    return await session.scalar(
        select(OrderState)
        .where(
            and_(
                OrderState.kind_id == kind_id,
                OrderState.category == category,
                OrderState.active.is_(True),
            )
        )
        .order_by(OrderState.position, OrderState.id)
        .limit(1)
    )


async def _next_open_state(session: AsyncSession, order: Order) -> OrderState | None:
    states = list(
        await session.scalars(
            select(OrderState)
            .where(OrderState.kind_id == order.kind_id, OrderState.active.is_(True))
            .order_by(OrderState.position, OrderState.id)
        )
    )
    index = next((i for i, s in enumerate(states) if s.id == order.state_id), None)
    if index is None:
        return None
    return next((s for s in states[index + 1 :] if s.category == StateCategory.OPEN), None)


async def apply_statuses(
    session: AsyncSession,
    order: Order,
    document: OrderDocument,
    *,
    zone: ZoneInfo,
    prefix: str,
    counts: Counter,
    method: PaymentMethod = PaymentMethod.BANK,
) -> None:
    """Cancelled / paid / shipped / final from a document's requisites (1C's or a
    store's), through the order services; ``prefix`` keys payments and shipments so
    a document applied twice registers them once."""
    if document.flag("Отменен") or document.deleted:
        if order.category != StateCategory.CANCELLED:
            target = await state_of_category(session, order.kind_id, StateCategory.CANCELLED)
            if target is not None:
                await change_order_state(session, order.id, state_id=target.id)
                counts["orders_cancelled"] += 1
        return
    paid_no = document.requisite("Номер оплаты по 1С")
    paid_at = parse_stamp(document.requisite("Дата оплаты по 1С"), zone)
    if not paid_no and document.flag("Заказ оплачен"):  # a store says "paid" without numbers
        paid_no = "paid"
        paid_at = parse_stamp(document.requisite("Дата оплаты"), zone)
    if paid_no:
        current = await get_order(session, order.id)
        left = current.total - current.paid_amount
        if left > 0 and current.category == StateCategory.OPEN:
            _, created = await register_payment(
                session,
                order.id,
                amount=left,
                method=method,
                external_id=f"{prefix}:pay:{paid_no}"[:200],
                paid_at=paid_at,
                comment=f"Оплата {paid_no}",
            )
            counts["payments_registered"] += int(created)
    shipped_no = document.requisite("Номер отгрузки по 1С")
    if shipped_no:
        current = await get_order(session, order.id)
        left = any(x.quantity > x.shipped_quantity for x in current.lines)
        if left and current.category == StateCategory.OPEN:
            await register_shipment(
                session,
                order.id,
                external_id=f"{prefix}:ship:{shipped_no}"[:200],
                shipped_at=parse_stamp(document.requisite("Дата отгрузки по 1С"), zone),
                comment=f"Отгрузка {shipped_no}",
            )
            counts["shipments_registered"] += 1
    if document.flag("Финальный статус"):
        current = await get_order(session, order.id)
        if current.category == StateCategory.OPEN:
            target = await state_of_category(session, order.kind_id, StateCategory.COMPLETED)
            if target is not None:
                await change_order_state(session, order.id, state_id=target.id)
                counts["orders_completed"] += 1


async def apply_onec_documents(
    session: AsyncSession,
    documents: Iterable[OrderDocument],
    *,
    timezone: str,
    counts: Counter,
    errors: list[dict[str, Any]],
) -> None:
    """Each document in a savepoint of its own: one refused change (a paid order
    1C cancels) is logged and the others still apply."""
    zone = ZoneInfo(timezone)
    for document in documents:
        order = await _find_order(session, document)
        if order is None:
            counts["orders_unknown"] += 1
            note(errors, document.external_id, "no such order in Firma")
            continue
        try:
            async with session.begin_nested():
                await _apply_onec(session, order, document, zone=zone, counts=counts)
        except DomainError as exc:
            counts["orders_failed"] += 1
            note(errors, document.external_id, exc.message)
            continue
        counts["orders_applied"] += 1


async def _apply_onec(
    session: AsyncSession,
    order: Order,
    document: OrderDocument,
    *,
    zone: ZoneInfo,
    counts: Counter,
) -> None:
    at = now(session)
    row = await session.get(OnecOrder, order.id)
    if row is None:
        row = OnecOrder(order_id=order.id, posted=False, updated_at=at)
        session.add(row)
    number = document.requisite("Номер по 1С")
    if not number and document.number != order.number:
        number = document.number
    row.number_1c = (number or row.number_1c or "")[:60] or None
    row.date_1c = parse_stamp(document.requisite("Дата по 1С"), zone) or row.date_1c
    if row.date_1c is None and number:
        row.date_1c = document.date
    row.posted = document.flag("Проведен")
    row.taken_at = row.taken_at or at  # 1C sent it back: it evidently has it
    row.updated_at = at
    await session.flush()
    await apply_statuses(
        session, order, document, zone=zone, prefix=f"1c:{order.number}", counts=counts
    )
    if row.posted:
        current = await get_order(session, order.id)
        if current.category == StateCategory.OPEN and current.state.is_initial:
            target = await _next_open_state(session, current)
            if target is not None:
                await change_order_state(session, order.id, state_id=target.id)
                counts["orders_posted"] += 1


def parse_stamp(value: str | None, zone: ZoneInfo) -> datetime | None:
    """``2026-03-02T10:00:00``, ``2026-03-02 10:00:00`` or ``02.03.2026 10:00:00`` in
    the firm's zone (as 1C writes them), as an aware UTC datetime."""
    if not value:
        return None
    text = " ".join(value.strip().replace("T", " ").split())
    for pattern, size in (("%Y-%m-%d %H:%M:%S", 19), ("%d.%m.%Y %H:%M:%S", 19)):
        for candidate in (text[:size], text[:10]):
            fmt = pattern if len(candidate) == size else pattern.split(" ")[0]
            try:
                parsed = datetime.strptime(candidate, fmt)
            except ValueError:
                continue
            return parsed.replace(tzinfo=zone).astimezone(UTC)
    return None
