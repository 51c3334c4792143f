"""Shapes of customers, their contact persons, events and orders in the REST API."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import Field

from backoffice.api.schemas_common import InputSchema, MoneyOut, Schema
from crm_core.customers.service import own_contacts
from crm_core.models import (
    Channel,
    ContactKind,
    ContactPerson,
    ContactPoint,
    Customer,
    CustomerKind,
    Order,
)

Phone = Annotated[str, Field(max_length=40)]
Email = Annotated[str, Field(max_length=254)]
Tag = Annotated[str, Field(max_length=50)]
TelegramId = Annotated[int, Field(ge=1, le=2**63 - 1)]
MAX_ID = 2**31 - 1  # ids are INTEGER columns: a bigger number is bad input, not a 500
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
# An IANA name; checked against tzdata by the service (unknown → 422 naming the field).
TimeZone = Annotated[str, Field(max_length=64, examples=["Asia/Vladivostok"])]


class CustomerCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    kind: CustomerKind = CustomerKind.PERSON
    legal_name: str | None = Field(None, max_length=300)
    inn: str | None = Field(None, max_length=12)
    phone: Phone | None = None
    phones: list[Phone] = Field(default_factory=list, max_length=10)
    email: Email | None = None
    emails: list[Email] = Field(default_factory=list, max_length=10)
    telegram_id: TelegramId | None = None
    telegram_username: str | None = Field(None, max_length=64)
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    responsible_id: Id | None = None
    consents: dict[Channel, bool] = Field(default_factory=dict)
    consent_source: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=10000)
    address: str | None = Field(None, max_length=500)
    time_zone: TimeZone | None = None


class CustomerUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: CustomerKind | None = None
    legal_name: str | None = Field(None, max_length=300)
    inn: str | None = Field(None, max_length=12)
    phone: Phone | None = None
    phones: list[Phone] | None = Field(None, max_length=10)
    email: Email | None = None
    emails: list[Email] | None = Field(None, max_length=10)
    telegram_id: TelegramId | None = None
    telegram_username: str | None = Field(None, max_length=64)
    tags: list[Tag] | None = Field(None, max_length=30)
    responsible_id: Id | None = None
    consents: dict[Channel, bool] | None = None
    consent_source: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=10000)
    address: str | None = Field(None, max_length=500)
    time_zone: TimeZone | None = None


class ConsentOut(Schema):
    granted: bool
    at: datetime | None = None
    source: str | None = None


class ContactPointOut(Schema):
    id: int
    kind: ContactKind
    value: str
    label: str | None


class ContactPointCreate(InputSchema):
    kind: ContactKind
    value: str = Field(min_length=1, max_length=254)
    label: str | None = Field(None, max_length=50)


class ContactPersonCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    position: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=10000)
    phones: list[Phone] = Field(default_factory=list, max_length=10)
    emails: list[Email] = Field(default_factory=list, max_length=10)
    telegram_id: TelegramId | None = None


class ContactPersonUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    position: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=10000)
    phones: list[Phone] | None = Field(None, max_length=10)
    emails: list[Email] | None = Field(None, max_length=10)
    telegram_id: TelegramId | None = None


class ContactPersonOut(Schema):
    id: int
    name: str
    position: str | None
    comment: str | None
    phones: list[str]
    emails: list[str]
    telegram_id: int | None
    created_at: datetime


class CustomerOut(Schema):
    id: int
    name: str
    kind: CustomerKind
    legal_name: str | None
    inn: str | None
    phone: str | None
    phones: list[str]
    email: str | None
    emails: list[str]
    telegram_id: int | None
    telegram_username: str | None
    tags: list[str]
    responsible_id: int | None
    consents: dict[str, ConsentOut]
    comment: str | None
    address: str | None
    time_zone: str | None
    orders_count: int
    total_spent: MoneyOut
    contact_persons: list[ContactPersonOut] | None = None
    created_at: datetime
    updated_at: datetime


class EventBrief(Schema):
    id: int
    kind: str
    state: str
    direction: str | None
    subject: str
    body: str | None
    data: dict[str, Any] | None
    starts_at: datetime
    employee_id: int | None
    customer_id: int | None
    lead_id: int | None
    created_at: datetime


class OrderStateRef(Schema):
    id: int
    name: str
    category: str


class OrderBrief(Schema):
    id: int
    number: str
    date: datetime
    state: OrderStateRef
    total: MoneyOut
    paid_percent: int
    shipped_percent: int


def _values(points: list[ContactPoint], kind: ContactKind) -> list[str]:
    return [p.value for p in points if p.kind == kind]


def _telegram(points: list[ContactPoint]) -> int | None:
    found = _values(points, ContactKind.TELEGRAM)
    return int(found[0]) if found else None


def person_out(person: ContactPerson) -> ContactPersonOut:
    return ContactPersonOut(
        id=person.id,
        name=person.name,
        position=person.position,
        comment=person.comment,
        phones=_values(person.contacts, ContactKind.PHONE),
        emails=_values(person.contacts, ContactKind.EMAIL),
        telegram_id=_telegram(person.contacts),
        created_at=person.created_at,
    )


def customer_out(customer: Customer, *, with_persons: bool = False) -> CustomerOut:
    """The read shape; needs contacts, tags and consents loaded (persons if asked)."""
    own = own_contacts(customer)
    phones, emails = _values(own, ContactKind.PHONE), _values(own, ContactKind.EMAIL)
    recorded = {c.channel.value: c for c in customer.consents}
    consents = {
        ch.value: ConsentOut.model_validate(recorded[ch.value])
        if ch.value in recorded
        else ConsentOut(granted=False)
        for ch in Channel
    }
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        kind=customer.kind,
        legal_name=customer.legal_name,
        inn=customer.inn,
        phone=phones[0] if phones else None,
        phones=phones,
        email=emails[0] if emails else None,
        emails=emails,
        telegram_id=_telegram(own),
        telegram_username=customer.telegram_username,
        tags=[t.tag for t in customer.tags],
        responsible_id=customer.responsible_id,
        consents=consents,
        comment=customer.comment,
        address=customer.address,
        time_zone=customer.time_zone,
        orders_count=customer.orders_count or 0,
        total_spent=customer.total_spent or Decimal(0),
        contact_persons=[person_out(p) for p in customer.contact_persons] if with_persons else None,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def _percent(part: Decimal | None, whole: Decimal | None) -> int:
    if not whole:
        return 0
    # Floored: 100 only when fully paid or shipped.
    value = (Decimal(part or 0) * 100 / Decimal(whole)).to_integral_value(ROUND_FLOOR)
    return max(0, min(100, int(value)))


def order_brief(order: Order) -> OrderBrief:
    return OrderBrief(
        id=order.id,
        number=order.number,
        date=order.date,
        state=OrderStateRef.model_validate(order.state),
        total=order.total,
        paid_percent=_percent(order.paid_amount, order.total),
        shipped_percent=_percent(order.shipped_amount, order.total),
    )
