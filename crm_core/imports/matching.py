"""One customer per person: find the customer that already holds a phone or email,
or create one — the de-duplication every import and every pushed order goes through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.customers.common import clean_text
from crm_core.customers.contacts import (
    customer_ids_by_contacts,
    find_owners,
    normalize_contacts,
)
from crm_core.customers.service import (
    add_contact_point,
    create_customer,
    get_customer,
    normalize_tags,
)
from crm_core.errors import ValidationFailed
from crm_core.models import Customer, CustomerKind, CustomerTag, LeadSource


@dataclass(frozen=True)
class Matched:
    customer: Customer
    created: bool
    updated: bool = False


async def match_customer(
    session: AsyncSession,
    *,
    name: str | None,
    phones: Iterable[str | None] = (),
    emails: Iterable[str | None] = (),
    kind: CustomerKind | str = CustomerKind.PERSON,
    legal_name: str | None = None,
    inn: str | None = None,
    address: str | None = None,
    comment: str | None = None,
    tags: Iterable[str] = (),
    source: LeadSource = LeadSource.IMPORT,
    fill: bool = True,
) -> Matched:
    """The oldest customer holding any of the contacts (its empty fields filled and the
    contacts nobody holds yet added), else a new customer. Needs a phone or an email."""
    contacts = normalize_contacts(phones, emails)
    if not contacts:
        raise ValidationFailed("A phone or an email is required", field="phone")
    ids = await customer_ids_by_contacts(session, contacts.pairs())
    if not ids:
        if not name or not str(name).strip():
            raise ValidationFailed("A name is required", field="name")
        customer = await create_customer(
            session,
            name=name,
            kind=kind or CustomerKind.PERSON,
            legal_name=legal_name,
            inn=inn,
            contacts=contacts,
            address=address,
            comment=comment,
            tags=tags,
            source=source,
        )
        return Matched(customer, created=True)
    customer = await get_customer(session, ids[0])
    if not fill:
        return Matched(customer, created=False)
    updated = False
    # Empty fields are filled in; an INN (checked and unique) never silently.
    for attr, value, limit in (("legal_name", legal_name, 300), ("address", address, 500)):
        text = clean_text(value, field=attr, max_length=limit)
        if text and not getattr(customer, attr):
            setattr(customer, attr, text)
            updated = True
    owned = {(o.kind, o.value) for o in await find_owners(session, contacts.pairs())}
    for kind_, value in contacts.pairs():
        if (kind_, value) not in owned:
            await add_contact_point(session, customer.id, kind=kind_, value=value)
            updated = True
    if tags:
        have = {t.tag for t in customer.tags}
        for tag in normalize_tags(tags):
            if tag not in have:
                customer.tags.append(CustomerTag(tag=tag))
                updated = True
    return Matched(customer, created=False, updated=updated)
