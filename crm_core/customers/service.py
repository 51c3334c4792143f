"""Customers: create, change, find; their own contacts, tags and consents."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.context import actor_of, now
from crm_core.customers.common import UNSET, clean_text, is_set, validate_inn
from crm_core.customers.contacts import (
    Contacts,
    contact_rows,
    normalize_contacts,
    normalize_emails,
    normalize_phones,
    normalize_telegram_id,
)
from crm_core.customers.search import customer_filters
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import (
    Channel,
    Consent,
    ContactKind,
    ContactPerson,
    ContactPoint,
    Customer,
    CustomerKind,
    CustomerTag,
    Employee,
    LeadSource,
)
from crm_core.outbox import emit

MAX_TAGS = 30
_FULL = (
    selectinload(Customer.contacts),
    selectinload(Customer.tags),
    selectinload(Customer.consents),
    selectinload(Customer.contact_persons).selectinload(ContactPerson.contacts),
)


def own_contacts(customer: Customer, kind: ContactKind | None = None) -> list[ContactPoint]:
    """The customer's own contact points (not its contact persons'), oldest first."""
    return [
        c
        for c in customer.contacts
        if c.contact_person_id is None and (kind is None or c.kind == kind)
    ]


def normalize_tags(tags: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for raw in tags:
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > 50:
            raise ValidationFailed("A tag is at most 50 characters", field="tags")
        out[tag] = None
    if len(out) > MAX_TAGS:
        raise ValidationFailed(f"At most {MAX_TAGS} tags", field="tags")
    return list(out)


@functools.cache
def _known_zones() -> dict[str, str]:
    """IANA zone names by their lower-case spelling (read once: it walks tzdata)."""
    # "localtime" is the machine's own zone and "Factory" no zone at all.
    names = zoneinfo.available_timezones() - {"localtime", "Factory"}
    return {name.lower(): name for name in names}


def validate_time_zone(raw: str | None, *, field: str = "time_zone") -> str | None:
    """An IANA time zone name (``Asia/Vladivostok``), spelled as tzdata spells it;
    empty → None. Only names tzdata lists: never a path, ``localtime`` or an offset."""
    text = (raw or "").strip()
    if not text:
        return None
    name = _known_zones().get(text.lower()) if len(text) <= 64 else None
    if name is None:
        shown = text if len(text) <= 64 else text[:61] + "..."
        raise ValidationFailed(
            f"Unknown time zone {shown!r}: use an IANA name such as Europe/Moscow", field=field
        )
    return name


def _kind(kind: CustomerKind | str) -> CustomerKind:
    try:
        return CustomerKind(kind)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown customer kind {kind!r}", field="kind") from exc


def _channel(channel: Channel | str) -> Channel:
    try:
        return Channel(channel)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown consent channel {channel!r}", field="consents") from exc


async def _check_inn_free(session: AsyncSession, inn: str | None, customer_id: int | None) -> None:
    if inn is None:
        return
    query = select(Customer.id).where(Customer.inn == inn)
    if customer_id is not None:
        query = query.where(Customer.id != customer_id)
    other = await session.scalar(query.limit(1))
    if other:
        raise Conflict(f"Customer {other} already has INN {inn}", field="inn")


def _apply_consents(
    session: AsyncSession, customer: Customer, consents: Mapping[Any, bool], source: str | None
) -> None:
    at = now(session)
    source = clean_text(source, field="consent_source", max_length=200) or _default_source(session)
    by_channel = {c.channel: c for c in customer.consents}
    for raw_channel, granted in consents.items():
        channel = _channel(raw_channel)
        row = by_channel.get(channel)
        if row is None:
            customer.consents.append(
                Consent(channel=channel, granted=bool(granted), at=at, source=source)
            )
        elif row.granted != bool(granted):
            row.granted, row.at, row.source = bool(granted), at, source


def _default_source(session: AsyncSession) -> str:
    actor = actor_of(session)
    return (actor.label or actor.kind.value)[:200]


def _replace_own(
    customer: Customer, kind: ContactKind, values: Sequence[str], session: AsyncSession
) -> None:
    current = own_contacts(customer, kind)
    if [c.value for c in current] == list(values):
        return
    # Rebuilt rather than diffed: the order is meaningful (the first is the primary).
    for row in current:
        customer.contacts.remove(row)
    customer.contacts.extend(
        ContactPoint(kind=kind, value=v, created_at=now(session)) for v in values
    )


def _with_primary(current: list[str], primary: Any, full: Any) -> Any:
    """``phones`` replaces the list; ``phone`` alone replaces only the first one."""
    if is_set(full):
        return list(full or [])
    if not is_set(primary):
        return UNSET
    rest = current[1:]
    return [primary, *[v for v in rest if v != primary]] if primary else rest


async def create_customer(session: AsyncSession, **fields: Any) -> Customer:
    """Add a customer with its contacts, tags and consents (``prepare_customer``'s
    keywords); emits ``customer.created``."""
    customer = await prepare_customer(session, **fields)
    await add_customers(session, [customer])
    return customer


async def prepare_customer(
    session: AsyncSession,
    *,
    name: str,
    kind: CustomerKind | str = CustomerKind.PERSON,
    legal_name: str | None = None,
    inn: str | None = None,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    telegram_id: int | str | None = None,
    telegram_username: str | None = None,
    tags: Iterable[str] = (),
    responsible_id: int | None = None,
    consents: Mapping[Any, bool] | None = None,
    consent_source: str | None = None,
    comment: str | None = None,
    address: str | None = None,
    source: LeadSource | None = None,
    contacts: Contacts | None = None,
    time_zone: str | None = None,
) -> Customer:
    """A checked new customer, not yet in the session: ``add_customers`` writes many in
    one flush (an import's batch), ``create_customer`` one. Raises DomainError naming
    the bad field; the caller keeps two prepared customers from sharing an INN."""
    name = clean_text(name, field="name", max_length=200, required=True)
    contacts = contacts or normalize_contacts(phones, emails, telegram_id)
    inn = validate_inn(inn)
    await _check_inn_free(session, inn, None)
    await require_ref(session, Employee, responsible_id, field="responsible_id", what="Employee")
    at = now(session)
    customer = Customer(
        name=name,
        kind=_kind(kind),
        legal_name=clean_text(legal_name, field="legal_name", max_length=300),
        inn=inn,
        telegram_username=clean_text(telegram_username, field="telegram_username", max_length=64),
        responsible_id=responsible_id,
        comment=clean_text(comment, field="comment", max_length=10000),
        address=clean_text(address, field="address", max_length=500),
        source=source,
        time_zone=validate_time_zone(time_zone),
        created_at=at,
        updated_at=at,
        contacts=contact_rows(contacts, at=at),
        tags=[CustomerTag(tag=t) for t in normalize_tags(tags)],
        consents=[],
    )
    _apply_consents(session, customer, consents or {}, consent_source)
    return customer


async def add_customers(session: AsyncSession, customers: Sequence[Customer]) -> None:
    """Write prepared customers in one flush (one INSERT per table for the lot) and emit
    ``customer.created`` for each."""
    session.add_all(customers)
    await session.flush()
    for customer in customers:
        emit(session, "customer.created", {"customer_id": customer.id})


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    """One customer with contacts, tags, consents and contact persons loaded."""
    customer = await session.scalar(
        select(Customer)
        .where(Customer.id == customer_id)
        .options(*_FULL)
        .execution_options(populate_existing=True)
    )
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found")
    return customer


async def update_customer(
    session: AsyncSession,
    customer_id: int,
    *,
    name: Any = UNSET,
    kind: Any = UNSET,
    legal_name: Any = UNSET,
    inn: Any = UNSET,
    phone: Any = UNSET,
    phones: Any = UNSET,
    email: Any = UNSET,
    emails: Any = UNSET,
    telegram_id: Any = UNSET,
    telegram_username: Any = UNSET,
    tags: Any = UNSET,
    responsible_id: Any = UNSET,
    consents: Any = UNSET,
    consent_source: str | None = None,
    comment: Any = UNSET,
    address: Any = UNSET,
    time_zone: Any = UNSET,
) -> Customer:
    """Change what is given (patch); ``None`` clears an optional field."""
    customer = await get_customer(session, customer_id)
    # Look-ups first: a query autoflushes, and one patch should be one history entry.
    if is_set(inn):
        inn = validate_inn(inn)
        await _check_inn_free(session, inn, customer_id)
    if is_set(responsible_id):
        await require_ref(
            session, Employee, responsible_id, field="responsible_id", what="Employee"
        )
    if is_set(name):
        customer.name = clean_text(name, field="name", max_length=200, required=True)
    if is_set(kind):
        customer.kind = _kind(kind)
    if is_set(inn):
        customer.inn = inn
    if is_set(responsible_id):
        customer.responsible_id = responsible_id
    if is_set(time_zone):
        customer.time_zone = validate_time_zone(time_zone)
    texts = {
        "legal_name": (legal_name, 300),
        "comment": (comment, 10000),
        "address": (address, 500),
    }
    for key, (value, limit) in texts.items():
        if is_set(value):
            setattr(customer, key, clean_text(value, field=key, max_length=limit))
    if is_set(telegram_username):
        customer.telegram_username = clean_text(
            telegram_username, field="telegram_username", max_length=64
        )
    current_phones = [c.value for c in own_contacts(customer, ContactKind.PHONE)]
    new_phones = _with_primary(current_phones, phone, phones)
    if is_set(new_phones):
        _replace_own(customer, ContactKind.PHONE, normalize_phones(new_phones), session)
    current_emails = [c.value for c in own_contacts(customer, ContactKind.EMAIL)]
    new_emails = _with_primary(current_emails, email, emails)
    if is_set(new_emails):
        _replace_own(customer, ContactKind.EMAIL, normalize_emails(new_emails), session)
    if is_set(telegram_id):
        tg = normalize_telegram_id(telegram_id)
        _replace_own(customer, ContactKind.TELEGRAM, [tg] if tg else [], session)
    if is_set(tags):
        wanted = normalize_tags(tags or [])
        customer.tags = [t for t in customer.tags if t.tag in wanted] + [
            CustomerTag(tag=t) for t in wanted if t not in {x.tag for x in customer.tags}
        ]
    if is_set(consents) and consents:
        _apply_consents(session, customer, consents, consent_source)
    customer.updated_at = now(session)
    await session.flush()
    return customer


async def set_consent(
    session: AsyncSession,
    customer_id: int,
    channel: Channel | str,
    *,
    granted: bool,
    source: str | None = None,
) -> Consent:
    """Record that the customer gave or withdrew consent for a channel, when and how."""
    customer = await get_customer(session, customer_id)
    _apply_consents(session, customer, {_channel(channel): granted}, source)
    await session.flush()
    return next(c for c in customer.consents if c.channel == _channel(channel))


async def add_contact_point(
    session: AsyncSession,
    customer_id: int,
    *,
    kind: ContactKind | str,
    value: str | int,
    label: str | None = None,
) -> ContactPoint:
    """Add one phone, email or Telegram id to the customer (no-op if it already has it)."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    try:
        kind = ContactKind(kind)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown contact kind {kind!r}", field="kind") from exc
    if kind is ContactKind.PHONE:
        normalized = normalize_phones([str(value)], field="value")[0]
    elif kind is ContactKind.EMAIL:
        normalized = normalize_emails([str(value)], field="value")[0]
    else:
        normalized = normalize_telegram_id(value, field="value")
    existing = await session.scalar(
        select(ContactPoint).where(
            ContactPoint.customer_id == customer_id,
            ContactPoint.contact_person_id.is_(None),
            ContactPoint.kind == kind,
            ContactPoint.value == normalized,
        )
    )
    if existing is not None:
        return existing
    row = ContactPoint(
        kind=kind,
        value=normalized,
        customer_id=customer_id,
        label=clean_text(label, field="label", max_length=50),
        created_at=now(session),
    )
    session.add(row)
    await session.flush()
    return row


async def remove_contact_point(session: AsyncSession, customer_id: int, contact_id: int) -> None:
    """Remove one of the customer's own contact points."""
    row = await session.get(ContactPoint, contact_id)
    if row is None or row.customer_id != customer_id or row.contact_person_id is not None:
        raise NotFound(f"Contact {contact_id} of customer {customer_id} not found")
    await session.delete(row)
    await session.flush()


async def list_customers(
    session: AsyncSession,
    *,
    q: str | None = None,
    tags: Sequence[str] = (),
    responsible_id: int | None = None,
    kind: CustomerKind | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Customer], int]:
    """Customers newest first, by name/phone/email/INN text, tags (all of) and responsible."""
    conditions = customer_filters(
        session,
        q=q,
        tags=normalize_tags(tags),
        responsible_id=responsible_id,
        kind=_kind(kind) if kind else None,
    )
    total = await session.scalar(select(func.count(Customer.id)).where(*conditions))
    rows = await session.scalars(
        select(Customer)
        .where(*conditions)
        .options(*_FULL)
        .order_by(Customer.created_at.desc(), Customer.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
