"""Lead intake: every door (forms, bot, store, API) hands a request in here.

The hot path: a request whose contacts match an open lead is merged into it, one
matching a customer is added to the customer, anything else becomes a new lead.
A handful of statements per request: one indexed look-up of all given contacts,
then the inserts (the lead, its contacts in one batch, history, outbox, event).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import actor_of, now
from crm_core.customers.common import clean_text, clip
from crm_core.customers.contacts import (
    Contacts,
    Owner,
    Pair,
    contact_match,
    find_owners,
    insert_contacts,
)
from crm_core.customers.contacts import normalize_contacts as _normalize
from crm_core.errors import Conflict, ValidationFailed
from crm_core.leads.states import default_state, resolve_state
from crm_core.lookup import require_ref
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    Direction,
    Employee,
    Event,
    EventKind,
    EventState,
    Lead,
    LeadResult,
    LeadSource,
    LeadState,
)
from crm_core.outbox import emit

MAX_DATA_BYTES = 64 * 1024
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_EVENT_KIND = {LeadSource.WEB_FORM: EventKind.WEB_FORM, LeadSource.TELEGRAM: EventKind.TELEGRAM}
_SUBJECT = {
    LeadSource.WEB_FORM: "Заявка с сайта",
    LeadSource.TELEGRAM: "Обращение в Telegram",
    LeadSource.STORE: "Заказ из интернет-магазина",
}


@dataclass(slots=True)
class IntakeResult:
    """The lead that was created or merged into, or the customer the request matched.

    Relationships are not loaded (the hot path does not read them): use ``get_lead``."""

    lead: Lead | None
    customer: Customer | None
    merged: bool
    changed: bool = True  # False: a merge that brought nothing new (a re-imported row)


@dataclass(slots=True)
class LeadInput:
    """A request, validated and normalised."""

    name: str
    contacts: Contacts
    telegram_username: str | None
    company: str | None
    legal_name: str | None
    source: LeadSource
    source_detail: str | None
    utm: dict[str, str | None]
    comment: str | None
    responsible_id: int | None
    data: dict[str, Any] | None


def _source(source: LeadSource | str) -> LeadSource:
    try:
        return LeadSource(source)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown lead source {source!r}", field="source") from exc


def _data(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ValidationFailed("Data must be an object", field="data")
    try:
        size = len(json.dumps(data, default=str, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Data must be plain JSON", field="data") from exc
    if size > MAX_DATA_BYTES:
        raise ValidationFailed("Data is too large", field="data")
    return dict(data)


def build_input(
    *,
    name: str | None,
    phones: Iterable[str],
    emails: Iterable[str],
    telegram_id: int | str | None,
    telegram_username: str | None,
    company: str | None,
    legal_name: str | None,
    source: LeadSource | str,
    source_detail: str | None,
    utm: Mapping[str, str | None],
    comment: str | None,
    responsible_id: int | None,
    data: Mapping[str, Any] | None,
    contacts: Contacts | None = None,
) -> LeadInput:
    """Validate and normalise a request; raise ValidationFailed naming the bad field.
    ``contacts``: already normalised (a door that checked them), instead of phones,
    emails and Telegram id."""
    if contacts is None:
        contacts = _normalize(phones, emails, telegram_id)
    elif phones or emails or telegram_id is not None:
        raise TypeError("give contacts, or phones, emails and telegram_id, not both")
    clean_name = clean_text(name, field="name", max_length=200) or ""
    if not clean_name and not contacts:
        raise ValidationFailed("Give a name, a phone, an email or a Telegram id", field="name")
    username = clean_text(
        (telegram_username or "").lstrip("@"), field="telegram_username", max_length=64
    )
    return LeadInput(
        name=clean_name,
        contacts=contacts,
        telegram_username=username,
        company=clean_text(company, field="company", max_length=200),
        legal_name=clean_text(legal_name, field="legal_name", max_length=300),
        source=_source(source),
        source_detail=clip(source_detail, 200),
        utm={key: clip(utm.get(key), 200) for key in UTM_FIELDS},
        comment=clean_text(comment, field="comment", max_length=10000),
        responsible_id=responsible_id,
        data=_data(data),
    )


async def lock_contacts(session: AsyncSession, pairs: Iterable[Pair]) -> None:
    """On PostgreSQL, serialise concurrent requests carrying the same contact, so two
    simultaneous submissions make one lead, not two (SQLite writers queue anyway).

    A caller that writes more than the intake in its transaction (the forms' batch)
    takes the locks first, for all its contacts at once: locks are always taken in one
    sorted statement, so two such callers never deadlock."""
    if session.bind.dialect.name != "postgresql":
        return
    keys = sorted(
        int.from_bytes(
            hashlib.blake2b(f"{k}:{v}".encode(), digest_size=8).digest(), "big", signed=True
        )
        for k, v in pairs
    )
    # One statement; unnest keeps the sorted order, so two requests never deadlock.
    await session.execute(
        text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS BIGINT[])) AS t(k)"),
        {"keys": keys},
    )


def _incoming_event(
    session: AsyncSession,
    item: LeadInput,
    *,
    lead_id: int | None,
    customer_id: int | None,
    repeated: bool,
) -> Event:
    at = now(session)
    subject = _SUBJECT.get(item.source, "Обращение")
    if repeated:
        subject = f"Повторное обращение: {subject.lower()}"
    if item.source_detail:
        subject = f"{subject} ({item.source_detail})"
    event = Event(
        kind=_EVENT_KIND.get(item.source, EventKind.OTHER),
        state=EventState.COMPLETED,
        direction=Direction.INCOMING,
        subject=subject[:300],
        body=item.comment,
        data=item.data if item.data is not None else _summary(item),
        starts_at=at,
        author_id=actor_of(session).employee_id,
        lead_id=lead_id,
        customer_id=customer_id,
        created_at=at,
        updated_at=at,
    )
    session.add(event)
    return event


def _summary(item: LeadInput) -> dict[str, Any]:
    summary = {
        "name": item.name or None,
        "phones": list(item.contacts.phones),
        "emails": list(item.contacts.emails),
        "telegram_id": item.contacts.telegram_id,
        "company": item.company,
        **item.utm,
    }
    return {k: v for k, v in summary.items() if v}


def _answers(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A form's answers (its data nests them), else whatever the door gave as data."""
    if not data:
        return {}
    nested = data.get("answers")
    return dict(nested) if isinstance(nested, Mapping) else dict(data)


def _merged_payload(item: LeadInput, lead_id: int | None, customer_id: int | None) -> dict:
    return {
        "lead_id": lead_id,
        "customer_id": customer_id,
        "source": item.source,
        "name": item.name,
        "phones": list(item.contacts.phones),
        "emails": list(item.contacts.emails),
        "data": item.data,
    }


def fill_lead(item: LeadInput, lead: Lead, *, new_contacts: bool, quiet: bool) -> tuple[bool, bool]:
    """Add what the request brings to the lead (its new contacts are the caller's):
    whether anything changed, and whether it gave the lead its responsible."""
    changed = new_contacts
    # Fill what the lead lacks; never overwrite what a manager already wrote.
    fill = {"name": item.name, "company": item.company, "legal_name": item.legal_name}
    fill |= {"telegram_username": item.telegram_username, **item.utm}
    for key, value in fill.items():
        if value and not getattr(lead, key):
            setattr(lead, key, value)
            changed = True
    # A request's comment is news; a re-imported row's comment already there is not.
    if item.comment and not (quiet and lead.comment and item.comment in lead.comment):
        lead.comment = f"{lead.comment}\n\n{item.comment}" if lead.comment else item.comment
        changed = True
    assigned = False
    if item.responsible_id and lead.responsible_id is None:
        lead.responsible_id = item.responsible_id
        changed = assigned = True
    return changed, assigned


def announce_merge(session: AsyncSession, item: LeadInput, lead_id: int, *, assigned: bool) -> None:
    """A request merged into an open lead: its incoming event and the outbox rows."""
    if assigned:
        emit(session, "lead.assigned", {"lead_id": lead_id, "responsible_id": item.responsible_id})
    _incoming_event(session, item, lead_id=lead_id, customer_id=None, repeated=True)
    emit(session, "lead.merged", _merged_payload(item, lead_id, None))


def announce_customer_merge(session: AsyncSession, item: LeadInput, customer_id: int) -> None:
    """A request added to a customer: its incoming event and ``lead.merged``."""
    _incoming_event(session, item, lead_id=None, customer_id=customer_id, repeated=True)
    emit(session, "lead.merged", _merged_payload(item, None, customer_id))


def new_lead_row(session: AsyncSession, item: LeadInput, state_id: int) -> Lead:
    """The new lead, added to the session (its id comes with the next flush)."""
    at = now(session)
    lead = Lead(
        name=item.name,
        company=item.company,
        legal_name=item.legal_name,
        telegram_username=item.telegram_username,
        source=item.source,
        source_detail=item.source_detail,
        comment=item.comment,
        state_id=state_id,
        result=LeadResult.OPEN,
        responsible_id=item.responsible_id,
        created_at=at,
        updated_at=at,
        **item.utm,
    )
    session.add(lead)
    return lead


def announce_new_lead(session: AsyncSession, item: LeadInput, lead_id: int, *, quiet: bool) -> None:
    """A new lead (flushed): its incoming event and ``lead.created``."""
    if item.data:
        _incoming_event(session, item, lead_id=lead_id, customer_id=None, repeated=False)
    if quiet:
        return
    emit(
        session,
        "lead.created",
        {
            "lead_id": lead_id,
            "source": item.source,
            "name": item.name,
            "phones": list(item.contacts.phones),
            "emails": list(item.contacts.emails),
            "responsible_id": item.responsible_id,
            # For the staff notification: which form, its answers, where the visitor came from.
            "source_detail": item.source_detail,
            "answers": _answers(item.data),
            **{key: value for key, value in item.utm.items() if value},
        },
    )


async def _merge_into_lead(
    session: AsyncSession, item: LeadInput, lead: Lead, owners: list[Owner], *, quiet: bool
) -> bool:
    """Add what the request brings to the lead; whether anything changed."""
    lead_id = lead.id
    had = {(o.kind, o.value) for o in owners if o.lead_id == lead_id}
    new_pairs = [p for p in item.contacts.pairs() if p not in had]
    await insert_contacts(session, new_pairs, at=now(session), lead_id=lead_id)
    changed, assigned = fill_lead(item, lead, new_contacts=bool(new_pairs), quiet=quiet)
    if quiet:  # an import: no incoming contact to record, nobody to wake
        if changed:
            lead.updated_at = now(session)
        return changed
    lead.updated_at = now(session)
    announce_merge(session, item, lead_id, assigned=assigned)
    return True


async def _merge_into_customer(
    session: AsyncSession, item: LeadInput, customer_id: int, owners: list[Owner], *, quiet: bool
) -> tuple[Customer, bool]:
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    had = {(o.kind, o.value) for o in owners if o.customer_id == customer_id}
    new_pairs = [p for p in item.contacts.pairs() if p not in had]
    await insert_contacts(session, new_pairs, at=now(session), customer_id=customer_id)
    changed = bool(new_pairs)
    if item.telegram_username and not customer.telegram_username:
        customer.telegram_username = item.telegram_username
        changed = True
    if not quiet:
        announce_customer_merge(session, item, customer_id)
    return customer, changed or not quiet


async def _new_lead(
    session: AsyncSession, item: LeadInput, state_id: int, *, quiet: bool = False
) -> Lead:
    lead = new_lead_row(session, item, state_id)
    await session.flush()
    await insert_contacts(session, item.contacts.pairs(), at=now(session), lead_id=lead.id)
    announce_new_lead(session, item, lead.id, quiet=quiet)
    return lead


async def _lookup(
    session: AsyncSession, pairs: list[Pair]
) -> tuple[int | None, list[Owner], dict[int, Lead]]:
    """One round trip: the default state and every lead/customer holding a contact.

    The state comes from a one-row derived table the contacts are LEFT JOINed to, so
    the row is there even when nothing matches (the common case: a new lead)."""
    default = (
        select(LeadState.id.label("state_id"))
        .where(LeadState.active.is_(True))
        .order_by(LeadState.is_default.desc(), LeadState.position, LeadState.id)
        .limit(1)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                default.c.state_id,
                ContactPoint.kind,
                ContactPoint.value,
                ContactPoint.customer_id,
                Lead,
            )
            .select_from(default)
            .outerjoin(ContactPoint, contact_match(pairs))
            .outerjoin(Lead, Lead.id == ContactPoint.lead_id)
        )
    ).all()
    if not rows:  # no active state at all: still find the owners, refuse a new lead later
        return None, await find_owners(session, pairs), {}
    owners, leads = [], {}
    for _state_id, kind, value, customer_id, lead in rows:
        if kind is None:
            continue
        if lead is not None:
            leads[lead.id] = lead
        owners.append(
            Owner(
                ContactKind(kind),
                value,
                lead.id if lead else None,
                customer_id,
                lead is not None and lead.result == LeadResult.OPEN,
            )
        )
    return rows[0][0], owners, leads


async def submit(
    session: AsyncSession,
    item: LeadInput,
    *,
    state: int | str | None = None,
    dedupe: bool = True,
    refuse_customer_match: bool = False,
    quiet: bool = False,
) -> IntakeResult:
    """Merge the request into a matching open lead or customer, or make a new lead.

    ``quiet`` (imports): no outbox events and no incoming event per request — a file of
    a thousand leads must not ring the managers a thousand times; the importer
    announces the batch once."""
    await require_ref(
        session, Employee, item.responsible_id, field="responsible_id", what="Employee"
    )
    pairs = item.contacts.pairs()
    default_id, owners, leads = None, [], {}
    if dedupe and pairs:
        await lock_contacts(session, pairs)
        default_id, owners, leads = await _lookup(session, pairs)
    # An open lead wins over a customer: someone is already working on it.
    open_leads = sorted({o.lead_id for o in owners if o.lead_id and o.lead_open})
    if open_leads:
        lead = leads[open_leads[0]]
        changed = await _merge_into_lead(session, item, lead, owners, quiet=quiet)
        await session.flush()
        return IntakeResult(lead=lead, customer=None, merged=True, changed=changed)
    customers = sorted({o.customer_id for o in owners if o.customer_id})
    if customers and refuse_customer_match:
        raise Conflict(
            f"Customer {customers[0]} already has these contacts; add the request there",
            field="customer_id",
        )
    if customers:
        customer, changed = await _merge_into_customer(
            session, item, customers[0], owners, quiet=quiet
        )
        await session.flush()
        return IntakeResult(lead=None, customer=customer, merged=True, changed=changed)
    if state is not None:
        state_id = (await resolve_state(session, state)).id
    else:
        state_id = default_id or (await default_state(session)).id
    lead = await _new_lead(session, item, state_id, quiet=quiet)
    return IntakeResult(lead=lead, customer=None, merged=False)
