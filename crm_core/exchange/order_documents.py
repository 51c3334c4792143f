"""Firma's orders as CommerceML order documents (``OrderDocument``): what 1C takes at
``type=sale&mode=query`` and what a store hears back about its orders."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.exchange.records import DELIVERY_ID, LineRecord, OrderDocument, PartyRecord
from crm_core.models import (
    ContactKind,
    Customer,
    CustomerKind,
    Order,
    Payment,
    Product,
    ProductKind,
    StateCategory,
)
from crm_core.numbering import FIRM_TIMEZONE


def product_external_id(product_id: int, external_id: str | None) -> str:
    """The Ид a product goes by outside: 1C's own, else one Firma makes up."""
    return external_id or f"firma-{product_id}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def stamp(value, zone: ZoneInfo) -> str:
    """A moment as 1C writes it: local time of the firm, no offset."""
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S") if value else ""


async def build_documents(
    session: AsyncSession, orders: Sequence[Order], *, timezone: str = FIRM_TIMEZONE
) -> list[OrderDocument]:
    """Documents of ``orders`` (loaded with lines and state) in their order."""
    if not orders:
        return []
    zone = ZoneInfo(timezone)
    customer_ids = {o.customer_id for o in orders}
    customers = {
        c.id: c
        for c in await session.scalars(
            select(Customer)
            .where(Customer.id.in_(customer_ids))
            .options(selectinload(Customer.contacts))
        )
    }
    product_ids = {x.product_id for o in orders for x in o.lines if x.product_id}
    products = {}
    if product_ids:
        rows = await session.execute(
            select(Product.id, Product.external_id, Product.sku, Product.kind).where(
                Product.id.in_(product_ids)
            )
        )
        products = {row.id: row for row in rows}
    last_payment = {}
    for payment in await session.scalars(
        select(Payment)
        .where(Payment.order_id.in_([o.id for o in orders]), Payment.amount > 0)  # no refunds
        .order_by(Payment.paid_at, Payment.id)
    ):
        last_payment[payment.order_id] = payment
    documents = []
    for order in orders:
        customer = customers[order.customer_id]
        lines = []
        for line in order.lines:
            product = products.get(line.product_id) if line.product_id else None
            if product is not None:
                ext = product_external_id(product.id, product.external_id)
                service = product.kind == ProductKind.SERVICE
            else:
                delivery = "доставк" in line.name.lower()
                ext = DELIVERY_ID if delivery else f"firma-line-{line.id}"
                service = True
            lines.append(
                LineRecord(
                    external_id=ext,
                    name=line.name,
                    quantity=line.quantity,
                    price=line.price,
                    amount=line.amount,
                    sku=product.sku if product is not None else None,
                    unit=line.unit,
                    is_service=service,
                )
            )
        payment = last_payment.get(order.id)
        paid = order.total > 0 and order.paid_amount >= order.total
        requisites = {
            "Статус заказа": order.state.name,
            "Статуса заказа ИД": order.state.code,
            "Дата изменения статуса": stamp(order.updated_at, zone),
            "Заказ оплачен": _flag(paid),
            "Сумма оплаты": f"{order.paid_amount:.2f}",
            "Дата оплаты": stamp(payment.paid_at, zone) if payment else "",
            "Метод оплаты": payment.method.value if payment else "",
            "Доставка разрешена": _flag(order.shipped_amount > 0),
            "Отменен": _flag(order.category == StateCategory.CANCELLED),
            "Финальный статус": _flag(order.category != StateCategory.OPEN),
            "Канал продаж": order.channel,
            "Адрес доставки": order.delivery_address or "",
        }
        documents.append(
            OrderDocument(
                external_id=order.number,
                number=order.number,
                date=order.date,
                total=order.total,
                comment=order.comment,
                party=party_of(customer, order.delivery_address),
                lines=lines,
                requisites={k: v for k, v in requisites.items() if v != ""},
            )
        )
    return documents


def party_of(customer: Customer, delivery_address: str | None = None) -> PartyRecord:
    own = [c for c in customer.contacts if c.contact_person_id is None]
    return PartyRecord(
        external_id=customer.external_id or f"firma-customer-{customer.id}",
        name=customer.name,
        full_name=customer.legal_name or customer.name,
        inn=customer.inn,
        kpp=customer.kpp,
        address=delivery_address or customer.address,
        phones=[c.value for c in own if c.kind == ContactKind.PHONE],
        emails=[c.value for c in own if c.kind == ContactKind.EMAIL],
        is_company=customer.kind == CustomerKind.COMPANY,
    )


def order_query():
    """Orders with what a document needs."""
    return select(Order).options(selectinload(Order.lines), selectinload(Order.state))


__all__ = ["build_documents", "order_query", "party_of", "product_external_id"]
