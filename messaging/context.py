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

from crm_core.context import actor_of, now
from crm_core.customers.service import get_customer, own_contacts
from crm_core.errors import ValidationFailed
from crm_core.invoices.firm import get_firm
from crm_core.invoices.pdf import MONTHS
from crm_core.invoices.words import rubles_in_words
from crm_core.models import (
    ContactKind,
    ContactPerson,
    ContactPoint,
    Customer,
    CustomerTag,
    Employee,
    Order,
)
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
    """The contexts of many customers in a few queries (a campaign batch): the same
    variables as ``build_context`` without an order, read as plain rows — customers,
    their contacts (their contact persons' too), tags and contact persons, the firm and
    the responsible employees once. No ORM objects: building 500 of them with their
    collections was most of a claim's time (bench/README.md)."""
    if not customer_ids:
        return {}
    ids = list(dict.fromkeys(customer_ids))
    customers = (
        await session.execute(
            select(
                Customer.id,
                Customer.name,
                Customer.kind,
                Customer.legal_name,
                Customer.inn,
                Customer.kpp,
                Customer.address,
                Customer.responsible_id,
            ).where(Customer.id.in_(ids))
        )
    ).all()
    own: dict[int, dict[str, str]] = {}  # customer → kind → first value
    by_person: dict[int, dict[str, str]] = {}
    wanted_kinds = (ContactKind.EMAIL, ContactKind.PHONE)
    points = await session.execute(
        select(
            ContactPoint.customer_id,
            ContactPoint.contact_person_id,
            ContactPoint.kind,
            ContactPoint.value,
        )
        .where(ContactPoint.customer_id.in_(ids), ContactPoint.kind.in_(wanted_kinds))
        .order_by(ContactPoint.id)
    )
    for customer_id, person_id, kind, value in points:
        into = own.setdefault(customer_id, {}) if person_id is None else None
        if into is None:
            into = by_person.setdefault(person_id, {})
        into.setdefault(ContactKind(kind).value, value)
    tags: dict[int, list[str]] = {}
    for customer_id, tag in await session.execute(
        select(CustomerTag.customer_id, CustomerTag.tag)
        .where(CustomerTag.customer_id.in_(ids))
        .order_by(CustomerTag.tag)
    ):
        tags.setdefault(customer_id, []).append(tag)
    persons: dict[int, Any] = {}
    for person in await session.execute(
        select(
            ContactPerson.id, ContactPerson.customer_id, ContactPerson.name, ContactPerson.position
        )
        .where(ContactPerson.customer_id.in_(ids))
        .order_by(ContactPerson.id)
    ):
        persons.setdefault(person.customer_id, person)
    firm = await get_firm(session)
    actor_employee = actor_of(session).employee_id
    wanted = {actor_employee or c.responsible_id for c in customers} - {None}
    employees = {}
    if wanted:
        employees = {
            e.id: {"name": e.name, "email": e.email}
            for e in await session.execute(
                select(Employee.id, Employee.name, Employee.email).where(Employee.id.in_(wanted))
            )
        }
    today = now(session)
    email, phone = ContactKind.EMAIL.value, ContactKind.PHONE.value
    contexts = {}
    for c in customers:
        mine = own.get(c.id, {})
        person = persons.get(c.id)
        theirs = by_person.get(person.id, {}) if person is not None else {}
        contexts[c.id] = {
            "firm": dict(firm),
            "customer": {
                "id": c.id,
                "name": c.name,
                "kind": str(c.kind),
                "legal_name": c.legal_name or c.name,
                "inn": c.inn or "",
                "kpp": c.kpp or "",
                "address": c.address or "",
                "email": mine.get(email, ""),
                "phone": mine.get(phone, ""),
                "tags": tags.get(c.id, []),
            },
            "contact": None
            if person is None
            else {
                "name": person.name,
                "position": person.position or "",
                "email": theirs.get(email, ""),
                "phone": theirs.get(phone, ""),
            },
            "order": None,
            "employee": employees.get(actor_employee or c.responsible_id),
            "today": today,
        }
    return contexts
