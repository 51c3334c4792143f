"""Leads: intake, manual creation, reading, listing and changing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.context import now
from crm_core.customers.common import UNSET, clean_text, clip, is_set
from crm_core.customers.contacts import (
    Contacts,
    contact_rows,
    normalize_emails,
    normalize_phones,
    normalize_telegram_id,
)
from crm_core.customers.search import looks_like_contact, owners_matching
from crm_core.customers.timeline import history_page, lead_events
from crm_core.errors import NotFound, ValidationFailed
from crm_core.leads.batch import submit_many
from crm_core.leads.intake import UTM_FIELDS, IntakeResult, LeadInput, build_input, submit
from crm_core.leads.lifecycle import convert_lead, hide_lead, reopen_lead
from crm_core.leads.states import resolve_state
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import ContactKind, ContactPoint, Employee, Lead, LeadResult, LeadSource
from crm_core.outbox import emit
from crm_core.text_search import contains, like_pattern

__all__ = [
    "IntakeResult",
    "convert_lead",
    "create_lead",
    "get_lead",
    "hide_lead",
    "intake_lead",
    "intake_leads",
    "lead_events",
    "lead_history",
    "list_leads",
    "reopen_lead",
    "update_lead",
]


def _intake_input(
    *,
    name: str | None = None,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    telegram_id: int | str | None = None,
    telegram_username: str | None = None,
    company: str | None = None,
    legal_name: str | None = None,
    source: LeadSource | str,
    source_detail: str | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_campaign: str | None = None,
    utm_content: str | None = None,
    utm_term: str | None = None,
    comment: str | None = None,
    responsible_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    contacts: Contacts | None = None,
) -> LeadInput:
    return build_input(
        contacts=contacts,
        name=name,
        phones=phones,
        emails=emails,
        telegram_id=telegram_id,
        telegram_username=telegram_username,
        company=company,
        legal_name=legal_name,
        source=source,
        source_detail=source_detail,
        utm=dict(
            zip(
                UTM_FIELDS,
                (utm_source, utm_medium, utm_campaign, utm_content, utm_term),
                strict=True,
            )
        ),
        comment=comment,
        responsible_id=responsible_id,
        data=data,
    )


async def intake_lead(
    session: AsyncSession,
    *,
    name: str | None = None,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    telegram_id: int | str | None = None,
    telegram_username: str | None = None,
    company: str | None = None,
    legal_name: str | None = None,
    source: LeadSource | str,
    source_detail: str | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_campaign: str | None = None,
    utm_content: str | None = None,
    utm_term: str | None = None,
    comment: str | None = None,
    responsible_id: int | None = None,
    state_code: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> IntakeResult:
    """Take a request from any door: merge it into a matching open lead or customer,
    or make a new lead (``lead.merged`` / ``lead.created``)."""
    item = _intake_input(
        name=name,
        phones=phones,
        emails=emails,
        telegram_id=telegram_id,
        telegram_username=telegram_username,
        company=company,
        legal_name=legal_name,
        source=source,
        source_detail=source_detail,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        utm_content=utm_content,
        utm_term=utm_term,
        comment=comment,
        responsible_id=responsible_id,
        data=data,
    )
    return await submit(session, item, state=state_code)


async def intake_leads(
    session: AsyncSession,
    requests: Sequence[Mapping[str, Any]],
    *,
    contacts_locked: bool = False,
) -> list[IntakeResult]:
    """``intake_lead`` for each request (its keywords, but ``state_code``; ``contacts``
    instead of phones and emails when the door normalised them already) in turn, in a
    fixed number of statements for the batch: a request merges into a lead an earlier
    one of the batch made, as it would one by one. Raises at the first bad request,
    leaving the session half done: the caller rolls back (a savepoint). ``contacts_locked``:
    the caller already holds the contacts' locks (``lock_contacts``)."""
    items = [_intake_input(**request) for request in requests]
    return await submit_many(session, items, contacts_locked=contacts_locked)


async def create_lead(
    session: AsyncSession,
    *,
    source: LeadSource | str = LeadSource.MANUAL,
    state: int | str | None = None,
    dedupe: bool = True,
    name: str | None = None,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    telegram_id: int | str | None = None,
    telegram_username: str | None = None,
    company: str | None = None,
    legal_name: str | None = None,
    source_detail: str | None = None,
    comment: str | None = None,
    responsible_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    **utm: str | None,
) -> IntakeResult:
    """A lead a manager or an integration enters: like intake, but a match with an
    existing customer is a Conflict (a person should add it there) and ``dedupe=False``
    always makes a new lead."""
    unknown = set(utm) - set(UTM_FIELDS)
    if unknown:
        raise TypeError(f"unexpected arguments {sorted(unknown)}")
    item = build_input(
        name=name,
        phones=phones,
        emails=emails,
        telegram_id=telegram_id,
        telegram_username=telegram_username,
        company=company,
        legal_name=legal_name,
        source=source,
        source_detail=source_detail,
        utm=utm,
        comment=comment,
        responsible_id=responsible_id,
        data=data,
    )
    return await submit(session, item, state=state, dedupe=dedupe, refuse_customer_match=True)


async def get_lead(session: AsyncSession, lead_id: int) -> Lead:
    """One lead with its state and contacts loaded."""
    lead = await session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .options(selectinload(Lead.state), selectinload(Lead.contacts))
        .execution_options(populate_existing=True)
    )
    if lead is None:
        raise NotFound(f"Lead {lead_id} not found")
    return lead


def _result(result: LeadResult | str | None) -> LeadResult | None:
    if result is None or result == "all":
        return None
    try:
        return LeadResult(result)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown lead result {result!r}", field="result") from exc


async def list_leads(
    session: AsyncSession,
    *,
    state: int | str | None = None,
    result: LeadResult | str | None = LeadResult.OPEN,
    q: str | None = None,
    source: LeadSource | str | None = None,
    responsible_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: str = "-created",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Lead], int]:
    """Leads newest first (``sort``: ``created``, ``name``, ``-`` for descending); open
    ones unless ``result`` says otherwise (``"all"``: any)."""
    conditions = []
    if state is not None:
        conditions.append(Lead.state_id == (await resolve_state(session, state)).id)
    wanted = _result(result)
    if wanted is not None:
        conditions.append(Lead.result == wanted)
    text = (q or "").replace("\x00", "").strip()  # PostgreSQL text never holds NUL
    if text:
        by_contact = owners_matching(ContactPoint.lead_id, text)
        if by_contact is not None and looks_like_contact(text):
            # A phone number or an email is looked up in the indexed contacts only:
            # matching it against every name as well would read the whole table.
            conditions.append(Lead.id.in_(by_contact))
        else:
            options = [_text_match(session, col, text) for col in (Lead.name, Lead.company)]
            if by_contact is not None:
                ids = await _contact_ids(session, by_contact)
                if ids is not None:
                    options.append(Lead.id.in_(ids))
            conditions.append(or_(*options))
    if source is not None:
        try:
            conditions.append(Lead.source == LeadSource(source))
        except ValueError as exc:
            raise ValidationFailed(f"Unknown lead source {source!r}", field="source") from exc
    if responsible_id is not None:
        conditions.append(Lead.responsible_id == responsible_id)
    if created_from is not None:
        conditions.append(Lead.created_at >= created_from)
    if created_to is not None:
        conditions.append(Lead.created_at < created_to)
    total = await session.scalar(select(func.count(Lead.id)).where(*conditions))
    rows = await session.scalars(
        select(Lead)
        .where(*conditions)
        .options(selectinload(Lead.state), selectinload(Lead.contacts))
        .order_by(*_lead_order(sort))
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


CONTACT_IDS = 500


async def _contact_ids(session: AsyncSession, by_contact: Any) -> Any | None:
    """On PostgreSQL, the (few) leads whose contacts match, as a list of ids: beside
    the names' trigram indexes a list is one more index search in a BitmapOr, where a
    sub-query in the OR makes the planner read every open lead. Many: the sub-query."""
    if session.bind.dialect.name != "postgresql":
        return by_contact
    found = list(await session.scalars(by_contact.limit(CONTACT_IDS + 1)))
    if len(found) > CONTACT_IDS:
        return by_contact
    return sorted({i for i in found if i is not None}) or None  # None: no contact matches


def _text_match(session: AsyncSession, column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, ignoring case.

    On PostgreSQL the pattern is written into the statement, not bound: a prepared
    statement's generic plan cannot know how rare ``%text%`` is, and after a few runs
    it walks the newest-first index over every open lead (~380 ms over 100,000) where
    the pg_trgm indexes of migration 0009 find the few matches in a few ms."""
    if session.bind.dialect.name == "postgresql":
        pattern = literal(like_pattern(text), literal_execute=True)
        return column.ilike(pattern, escape="\\")
    return contains(session, column, text)


_SORTS = {"created": (Lead.created_at, Lead.id), "name": (Lead.name, Lead.id)}


def _lead_order(sort: str) -> list:
    key = (sort or "-created").strip()
    columns = _SORTS.get(key.lstrip("-"))
    if columns is None:
        raise ValidationFailed(f"Unknown sort {sort!r}", field="sort")
    return [c.desc() for c in columns] if key.startswith("-") else [c.asc() for c in columns]


def _replace_contacts(
    session: AsyncSession, lead: Lead, kind: ContactKind, values: Iterable[str]
) -> None:
    values = list(values)
    current = [c for c in lead.contacts if c.kind == kind]
    if [c.value for c in current] == values:
        return
    for row in current:
        lead.contacts.remove(row)
    lead.contacts.extend(contact_rows([(kind, v) for v in values], at=now(session)))


def _with_primary(current: list[str], primary: Any, full: Any) -> Any:
    """``phones`` replaces the list; ``phone`` alone replaces only the first one."""
    if is_set(full):
        return list(full or [])
    if not is_set(primary):
        return UNSET
    rest = current[1:]
    return [primary, *[v for v in rest if v != primary]] if primary else rest


_TEXTS = {"company": 200, "legal_name": 300, "telegram_username": 64, "comment": 10000}


async def update_lead(
    session: AsyncSession, lead_id: int, *, state: Any = UNSET, **changes: Any
) -> Lead:
    """Change what is given (patch): fields, contacts (``phone``/``phones``,
    ``email``/``emails``, ``telegram_id``), responsible, state by id or code."""
    allowed = {"name", "phone", "phones", "email", "emails", "telegram_id", "responsible_id"}
    allowed |= set(_TEXTS) | set(UTM_FIELDS) | {"source", "source_detail"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unexpected arguments {sorted(unknown)}")
    lead = await get_lead(session, lead_id)
    # Look-ups first: a query autoflushes, and one patch should be one history entry.
    new_state = await resolve_state(session, state) if is_set(state) and state else None
    if changes.get("responsible_id") is not None:
        await require_ref(
            session, Employee, changes["responsible_id"], field="responsible_id", what="Employee"
        )
    if "name" in changes:
        lead.name = clean_text(changes["name"], field="name", max_length=200) or ""
    for key, limit in _TEXTS.items():
        if key in changes:
            setattr(lead, key, clean_text(changes[key], field=key, max_length=limit))
    for key in (*UTM_FIELDS, "source_detail"):
        if key in changes:
            setattr(lead, key, clip(changes[key], 200))
    if changes.get("source") is not None:
        try:
            lead.source = LeadSource(changes["source"])
        except ValueError as exc:
            raise ValidationFailed(
                f"Unknown lead source {changes['source']!r}", field="source"
            ) from exc
    for kind, one, many, normalize in (
        (ContactKind.PHONE, "phone", "phones", normalize_phones),
        (ContactKind.EMAIL, "email", "emails", normalize_emails),
    ):
        current = [c.value for c in lead.contacts if c.kind == kind]
        wanted = _with_primary(current, changes.get(one, UNSET), changes.get(many, UNSET))
        if is_set(wanted):
            _replace_contacts(session, lead, kind, normalize(wanted))
    if "telegram_id" in changes:
        tg = normalize_telegram_id(changes["telegram_id"])
        _replace_contacts(session, lead, ContactKind.TELEGRAM, [tg] if tg else [])
    if "responsible_id" in changes and changes["responsible_id"] != lead.responsible_id:
        responsible_id = changes["responsible_id"]
        lead.responsible_id = responsible_id
        emit(session, "lead.assigned", {"lead_id": lead.id, "responsible_id": responsible_id})
    if new_state is not None and new_state.id != lead.state_id:
        old_code = lead.state.code
        lead.state = new_state
        emit(
            session,
            "lead.state_changed",
            {"lead_id": lead.id, "from": old_code, "to": new_state.code},
        )
    lead.updated_at = now(session)
    await session.flush()
    return lead


async def lead_history(
    session: AsyncSession, lead_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list, int]:
    """The lead's change history, oldest first (who, when, what from what to what)."""
    await get_or_404(session, Lead, lead_id, what="Lead")
    return await history_page(
        session, entity_type="lead", entity_id=lead_id, limit=limit, offset=offset
    )
