"""The ``q=`` search of customer and lead lists: name text, phone in any spelling, email."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_phone
from crm_core.errors import ValidationFailed
from crm_core.models import ContactKind, ContactPoint, Customer, CustomerKind, CustomerTag
from crm_core.text_search import contains, like_pattern

_PHONE_CHARS = set("0123456789 +-()")
MIN_PARTIAL_DIGITS = 4


def contact_conditions(q: str) -> list[ColumnElement[bool]]:
    """Conditions on ContactPoint that match ``q`` as a phone or an email."""
    text = q.strip()
    found: list[ColumnElement[bool]] = []
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and set(text) <= _PHONE_CHARS:
        try:
            # A whole number in any spelling ("8 (916) 123-45-67") is one index search.
            e164 = normalize_phone(text)
            found.append((ContactPoint.kind == ContactKind.PHONE) & (ContactPoint.value == e164))
        except ValidationFailed:
            if len(digits) >= MIN_PARTIAL_DIGITS:
                found.append(
                    (ContactPoint.kind == ContactKind.PHONE)
                    & ContactPoint.value.like(like_pattern(digits), escape="\\")
                )
    if "@" in text or (len(text) >= 3 and not digits):
        found.append(
            (ContactPoint.kind == ContactKind.EMAIL)
            & ContactPoint.value.like(like_pattern(text.lower()), escape="\\")
        )
    return found


def looks_like_contact(q: str) -> bool:
    """A phone number (only phone characters, enough digits) or an email address."""
    text = q.strip()
    digits = sum(ch.isdigit() for ch in text)
    if set(text) <= _PHONE_CHARS and digits >= MIN_PARTIAL_DIGITS:
        return True
    return "@" in text and " " not in text


def owners_matching(owner_column: Any, q: str) -> Any:
    """``owner_column`` (ContactPoint.lead_id or .customer_id) values whose contacts match."""
    conditions = contact_conditions(q)
    if not conditions:
        return None
    return select(owner_column).where(or_(*conditions))


def customer_filters(
    session: AsyncSession,
    *,
    q: str | None,
    tags: list[str],
    responsible_id: int | None,
    kind: CustomerKind | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text = (q or "").replace("\x00", "").strip()  # PostgreSQL text never holds NUL
    if text:
        options = []
        if not looks_like_contact(text):  # a phone or an email is never a name: skip the scan
            options += [
                contains(session, Customer.name, text),
                contains(session, Customer.legal_name, text),
            ]
        if text.isdigit():
            options.append(Customer.inn.like(f"{text}%"))
        by_contact = owners_matching(ContactPoint.customer_id, text)
        if by_contact is not None:
            options.append(Customer.id.in_(by_contact))
        conditions.append(or_(*options))
    for tag in tags:
        conditions.append(
            Customer.id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag == tag))
        )
    if responsible_id is not None:
        conditions.append(Customer.responsible_id == responsible_id)
    if kind is not None:
        conditions.append(Customer.kind == kind)
    return conditions
