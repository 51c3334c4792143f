"""One order pushed by a store: the customer found or created by phone/email, the lines
matched to the catalog by SKU, the order created once per store order id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.imports.matching import match_customer
from crm_core.models import LeadSource, OrderWebhookSource, Product
from crm_core.orders.lines import LineInput
from crm_core.orders.service import create_order, get_order, get_order_by_external_id

CHANNEL = "store"


class LineErrors(ValidationFailed):
    """Some lines cannot be matched; ``errors`` maps ``lines.<i>.<field>`` to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()), field="lines")
        self.errors = errors


@dataclass(frozen=True)
class StoreLine:
    sku: str
    quantity: Decimal
    price: Decimal | None = None
    name: str | None = None


@dataclass(frozen=True)
class StoreOrder:
    external_id: str
    name: str
    phone: str | None = None
    email: str | None = None
    lines: Sequence[StoreLine] = ()
    comment: str | None = None
    delivery_address: str | None = None
    delivery_price: Decimal | None = None
    created_at: datetime | None = None
    extra: dict = field(default_factory=dict)


def order_external_id(source: OrderWebhookSource, external_id: str) -> str:
    """Namespaced by the source: two stores may both have an order "1001"."""
    return f"{source.code}:{external_id}"


async def _lines(session: AsyncSession, lines: Sequence[StoreLine]) -> list[LineInput]:
    if not lines:
        raise ValidationFailed("An order needs at least one line", field="lines")
    skus = {line.sku for line in lines}
    found = dict(
        (await session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus)))).all()
    )
    errors = {
        f"lines.{i}.sku": f"Unknown SKU {line.sku!r}"
        for i, line in enumerate(lines)
        if line.sku not in found
    }
    if errors:
        raise LineErrors(errors)
    return [
        LineInput(
            product_id=found[line.sku], quantity=line.quantity, price=line.price, name=line.name
        )
        for line in lines
    ]


async def intake_store_order(
    session: AsyncSession, source: OrderWebhookSource, order: StoreOrder
) -> tuple[int, bool]:
    """Create the pushed order (``order.created`` goes out) or return the one made from the
    same store order before: ``(order_id, created)``."""
    external_id = order_external_id(source, order.external_id)
    existing = await get_order_by_external_id(session, external_id)
    if existing is not None:
        return existing.id, False
    lines = await _lines(session, order.lines)
    if order.delivery_price:
        lines.append(
            LineInput(
                product_id=None, quantity=Decimal(1), price=order.delivery_price, name="Доставка"
            )
        )
    matched = await match_customer(
        session,
        name=order.name,
        phones=[order.phone],
        emails=[order.email],
        address=order.delivery_address,
        source=LeadSource.STORE,
    )
    source.last_used_at = now(session)
    try:
        async with session.begin_nested():
            made = await create_order(
                session,
                customer_id=matched.customer.id,
                lines=lines,
                channel=CHANNEL,
                comment=order.comment,
                external_id=external_id,
                delivery_address=order.delivery_address,
                date=order.created_at,
            )
    except Conflict:
        # The same store order pushed twice at once: the other request made it.
        again = await get_order_by_external_id(session, external_id)
        if again is None:
            raise
        return again.id, False
    return made.id, True


async def order_summary(session: AsyncSession, order_id: int) -> dict:
    order = await get_order(session, order_id)
    return {
        "order_id": order.id,
        "number": order.number,
        "customer_id": order.customer_id,
        "total": f"{order.total:.2f}",
        "state": order.state.name,
    }
