"""The reference data every firm starts with (idempotent: safe to run at each upgrade)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import HideReason, LeadState, OrderKind, OrderState, PriceKind, StateCategory

DEFAULT_LEAD_STATES = [("new", "Не обработан", True), ("in_work", "В работе", False)]
DEFAULT_HIDE_REASONS = [
    ("spam", "Спам"),
    ("duplicate", "Дубль"),
    ("not_target", "Нецелевое обращение"),
    ("no_answer", "Не удалось связаться"),
    ("refused", "Отказ"),
]
DEFAULT_ORDER_KIND = ("main", "Основной")
DEFAULT_ORDER_STATES = [
    ("new", "Новый", StateCategory.OPEN),
    ("in_work", "В работе", StateCategory.OPEN),
    ("production", "Производство", StateCategory.OPEN),
    ("quote", "Запрос КП", StateCategory.OPEN),
    ("completed", "Завершён", StateCategory.COMPLETED),
    ("cancelled", "Отменён", StateCategory.CANCELLED),
]
DEFAULT_PRICE_KINDS = [("retail", "Розничная", True), ("wholesale", "Оптовая", False)]


async def ensure_reference_data(session: AsyncSession) -> None:
    """Create the default lead states, hide reasons, order kind and price kinds if absent."""
    if not await session.scalar(select(LeadState.id).limit(1)):
        for position, (code, name, is_default) in enumerate(DEFAULT_LEAD_STATES):
            session.add(LeadState(code=code, name=name, position=position, is_default=is_default))
    if not await session.scalar(select(HideReason.id).limit(1)):
        for position, (code, name) in enumerate(DEFAULT_HIDE_REASONS):
            session.add(HideReason(code=code, name=name, position=position))
    if not await session.scalar(select(OrderKind.id).limit(1)):
        code, name = DEFAULT_ORDER_KIND
        kind = OrderKind(code=code, name=name, is_default=True)
        kind.states = [
            OrderState(code=c, name=n, category=cat, position=i, is_initial=i == 0)
            for i, (c, n, cat) in enumerate(DEFAULT_ORDER_STATES)
        ]
        session.add(kind)
    if not await session.scalar(select(PriceKind.id).limit(1)):
        for code, name, is_default in DEFAULT_PRICE_KINDS:
            session.add(PriceKind(code=code, name=name, is_default=is_default))
    await session.flush()
