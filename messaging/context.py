"""The variables a template sees: plain dicts and lists, never ORM objects.

Plain data keeps the sandbox small (nothing to walk from a value to the session or
the mapper) and lets a campaign build one context per recipient without lazy loads.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.context import actor_of, now
from crm_core.customers.service import get_customer, own_contacts
from crm_core.errors import ValidationFailed
from crm_core.invoices.firm import get_firm
from crm_core.invoices.pdf import MONTHS
from crm_core.invoices.words import rubles_in_words
from crm_core.models import ContactKind, ContactPerson, Customer, Employee, Order
from crm_core.online_payments.service import pending_payment_url
from crm_core.orders.service import get_order


def money(value: Any) -> str:
    """1250 → «1 250,00 ₽»."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " ₽"


def money_words(value: Any) -> str:
    """1250.5 → «Одна тысяча двести пятьдесят рублей 50 копеек»."""
    return "" if value is None or value == "" else rubles_in_words(Decimal(str(value)))


def date_ru(value: Any, timezone: str = "Europe/Moscow") -> str:
    """An aware datetime → «2 марта 2026 г.» in the firm's time zone."""
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    local = value.astimezone(ZoneInfo(timezone)) if value.tzinfo else value
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} г."


def _first(customer: Customer, kind: ContactKind) -> str:
    points = own_contacts(customer, kind)
    return points[0].value if points else ""


def customer_vars(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "kind": str(customer.kind),
        "legal_name": customer.legal_name or customer.name,
        "inn": customer.inn or "",
        "kpp": customer.kpp or "",
        "address": customer.address or "",
        "email": _first(customer, ContactKind.EMAIL),
        "phone": _first(customer, ContactKind.PHONE),
        "tags": [t.tag for t in customer.tags],
    }


def _contact_vars(customer: Customer) -> dict[str, Any] | None:
    if not customer.contact_persons:
        return None
    person = customer.contact_persons[0]
    by_kind = {c.kind: c.value for c in reversed(person.contacts)}
    return {
        "name": person.name,
        "position": person.position or "",
        "email": by_kind.get(ContactKind.EMAIL, ""),
        "phone": by_kind.get(ContactKind.PHONE, ""),
    }


def order_vars(order: Order, payment_url: str | None = None) -> dict[str, Any]:
    """``payment_url``: the order's pending online payment link, when one was made (a
    letter or SMS "pay by link" writes ``{{ order.payment_url }}``)."""
    return {
        "id": order.id,
        "number": order.number,
        "date": order.date,
        "due_at": order.due_at,
        "total": order.total,
        "vat_amount": order.vat_amount,
        "state": order.state.name,
        "comment": order.comment or "",
        "paid_amount": order.paid_amount,
        "left_to_pay": order.total - order.paid_amount,
        "payment_url": payment_url or "",
        "lines": [
            {
                "position": i,
                "name": line.name,
                "unit": line.unit,
                "quantity": line.quantity.normalize(),
                "price": line.price,
                "discount_percent": line.discount_percent,
                "amount": line.amount,
            }
            for i, line in enumerate(order.lines, start=1)
        ],
    }


async def build_context(
    session: AsyncSession, *, customer_id: int | None, order_id: int | None = None
) -> dict[str, Any]:
    """firm, customer, contact, order (with lines), employee and today for a render."""
    order = await get_order(session, order_id) if order_id is not None else None
    if order is not None and customer_id is not None and order.customer_id != customer_id:
        raise ValidationFailed(
            f"Order {order.number} belongs to another customer", field="order_id"
        )
    if customer_id is None and order is not None:
        customer_id = order.customer_id
    customer = await get_customer(session, customer_id) if customer_id is not None else None
    employee_id = (
        actor_of(session).employee_id
        or (order.responsible_id if order else None)
        or (customer.responsible_id if customer else None)
    )
    employee = await session.get(Employee, employee_id) if employee_id else None
    return {
        "firm": await get_firm(session),
        "customer": customer_vars(customer) if customer else None,
        "contact": _contact_vars(customer) if customer else None,
        "order": order_vars(order, await pending_payment_url(session, order.id)) if order else None,
        "employee": {"name": employee.name, "email": employee.email} if employee else None,
        "today": now(session),
    }


async def build_contexts(
    session: AsyncSession, customer_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """The contexts of many customers in a few queries (a campaign batch): customers
    with contacts, tags and contact persons in one go, the firm and the responsible
    employees once, instead of a handful of queries per recipient."""
    if not customer_ids:
        return {}
    customers = list(
        await session.scalars(
            select(Customer)
            .where(Customer.id.in_(customer_ids))
            .options(
                selectinload(Customer.contacts),
                selectinload(Customer.tags),
                selectinload(Customer.contact_persons).selectinload(ContactPerson.contacts),
            )
        )
    )
    firm = await get_firm(session)
    actor_employee = actor_of(session).employee_id
    wanted = {actor_employee or c.responsible_id for c in customers} - {None}
    employees = {
        e.id: {"name": e.name, "email": e.email}
        for e in await session.scalars(select(Employee).where(Employee.id.in_(wanted)))
    }
    today = now(session)
    return {
        c.id: {
            "firm": dict(firm),
            "customer": customer_vars(c),
            "contact": _contact_vars(c),
            "order": None,
            "employee": employees.get(actor_employee or c.responsible_id),
            "today": today,
        }
        for c in customers
    }
