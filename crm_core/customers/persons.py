"""Contact persons of a (company) customer, each with their own phones and emails."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.context import now
from crm_core.customers.common import UNSET, clean_text, is_set
from crm_core.customers.contacts import (
    contact_rows,
    normalize_contacts,
    normalize_emails,
    normalize_phones,
    normalize_telegram_id,
)
from crm_core.errors import NotFound
from crm_core.lookup import get_or_404
from crm_core.models import ContactKind, ContactPerson, ContactPoint, Customer


async def _person(session: AsyncSession, customer_id: int, person_id: int) -> ContactPerson:
    person = await session.scalar(
        select(ContactPerson)
        .where(ContactPerson.id == person_id, ContactPerson.customer_id == customer_id)
        .options(selectinload(ContactPerson.contacts))
        .execution_options(populate_existing=True)
    )
    if person is None:
        raise NotFound(f"Contact person {person_id} of customer {customer_id} not found")
    return person


async def create_contact_person(
    session: AsyncSession,
    customer_id: int,
    *,
    name: str,
    position: str | None = None,
    comment: str | None = None,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    telegram_id: int | str | None = None,
) -> ContactPerson:
    """Add a contact person to a customer, with their own contacts."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    contacts = normalize_contacts(phones, emails, telegram_id)
    person = ContactPerson(
        customer_id=customer_id,
        name=clean_text(name, field="name", max_length=200, required=True),
        position=clean_text(position, field="position", max_length=200),
        comment=clean_text(comment, field="comment", max_length=10000),
        created_at=now(session),
    )
    session.add(person)
    await session.flush()
    session.add_all(
        contact_rows(
            contacts, at=now(session), customer_id=customer_id, contact_person_id=person.id
        )
    )
    await session.flush()
    return await _person(session, customer_id, person.id)


async def _replace(
    session: AsyncSession, person: ContactPerson, kind: ContactKind, values: list[str]
) -> None:
    current = [c for c in person.contacts if c.kind == kind]
    if [c.value for c in current] == values:
        return
    await session.execute(
        delete(ContactPoint).where(
            ContactPoint.contact_person_id == person.id, ContactPoint.kind == kind
        )
    )
    session.add_all(
        contact_rows(
            [(kind, v) for v in values],
            at=now(session),
            customer_id=person.customer_id,
            contact_person_id=person.id,
        )
    )


async def update_contact_person(
    session: AsyncSession,
    customer_id: int,
    person_id: int,
    *,
    name: Any = UNSET,
    position: Any = UNSET,
    comment: Any = UNSET,
    phones: Any = UNSET,
    emails: Any = UNSET,
    telegram_id: Any = UNSET,
) -> ContactPerson:
    """Change what is given; ``phones``/``emails`` replace the person's list."""
    person = await _person(session, customer_id, person_id)
    if is_set(name):
        person.name = clean_text(name, field="name", max_length=200, required=True)
    if is_set(position):
        person.position = clean_text(position, field="position", max_length=200)
    if is_set(comment):
        person.comment = clean_text(comment, field="comment", max_length=10000)
    if is_set(phones):
        await _replace(session, person, ContactKind.PHONE, list(normalize_phones(phones or [])))
    if is_set(emails):
        await _replace(session, person, ContactKind.EMAIL, list(normalize_emails(emails or [])))
    if is_set(telegram_id):
        tg = normalize_telegram_id(telegram_id)
        await _replace(session, person, ContactKind.TELEGRAM, [tg] if tg else [])
    await session.flush()
    return await _person(session, customer_id, person_id)


async def list_contact_persons(session: AsyncSession, customer_id: int) -> list[ContactPerson]:
    """The customer's contact persons with their contacts, in the order they were added."""
    await get_or_404(session, Customer, customer_id, what="Customer")
    rows = await session.scalars(
        select(ContactPerson)
        .where(ContactPerson.customer_id == customer_id)
        .options(selectinload(ContactPerson.contacts))
        .order_by(ContactPerson.id)
    )
    return list(rows)


async def delete_contact_person(session: AsyncSession, customer_id: int, person_id: int) -> None:
    """Remove a contact person and their contacts."""
    person = await _person(session, customer_id, person_id)
    await session.execute(delete(ContactPoint).where(ContactPoint.contact_person_id == person.id))
    await session.delete(person)
    await session.flush()
