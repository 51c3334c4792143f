"""Contact points shared by leads, customers and contact persons: normalising the
input and finding who already owns a phone, email or Telegram id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_email, normalize_phone
from crm_core.errors import ValidationFailed
from crm_core.models import ContactKind, ContactPoint, Lead, LeadResult

MAX_CONTACTS_PER_KIND = 10
MAX_TELEGRAM_ID = 2**63 - 1

Pair = tuple[ContactKind, str]


@dataclass(frozen=True, slots=True)
class Contacts:
    """Normalised, de-duplicated contacts in the order they were given."""

    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    telegram_id: str | None = None

    def pairs(self) -> list[Pair]:
        out: list[Pair] = [(ContactKind.PHONE, p) for p in self.phones]
        out += [(ContactKind.EMAIL, e) for e in self.emails]
        if self.telegram_id:
            out.append((ContactKind.TELEGRAM, self.telegram_id))
        return out

    def __bool__(self) -> bool:
        return bool(self.phones or self.emails or self.telegram_id)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def normalize_phones(raw: Iterable[str | None], *, field: str = "phone") -> tuple[str, ...]:
    """Every non-blank phone in E.164, duplicates dropped; a bad one is a ValidationFailed."""
    given = [p for p in raw if p is not None and str(p).strip()]
    if len(given) > MAX_CONTACTS_PER_KIND:
        raise ValidationFailed(f"At most {MAX_CONTACTS_PER_KIND} phones", field=field)
    return _unique(normalize_phone(str(p), field=field) for p in given)


def normalize_emails(raw: Iterable[str | None], *, field: str = "email") -> tuple[str, ...]:
    """Every non-blank email validated and lower-cased, duplicates dropped."""
    given = [e for e in raw if e is not None and str(e).strip()]
    if len(given) > MAX_CONTACTS_PER_KIND:
        raise ValidationFailed(f"At most {MAX_CONTACTS_PER_KIND} emails", field=field)
    return _unique(normalize_email(str(e), field=field) for e in given)


def normalize_telegram_id(raw: int | str | None, *, field: str = "telegram_id") -> str | None:
    """A Telegram user id as its decimal string (how contact points store it)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or not 0 < int(text) <= MAX_TELEGRAM_ID:
        raise ValidationFailed(f"Not a Telegram user id: {raw!r}", field=field)
    return str(int(text))


def normalize_contacts(
    phones: Iterable[str | None] = (),
    emails: Iterable[str | None] = (),
    telegram_id: int | str | None = None,
) -> Contacts:
    return Contacts(
        phones=normalize_phones(phones),
        emails=normalize_emails(emails),
        telegram_id=normalize_telegram_id(telegram_id),
    )


def contact_rows(
    contacts: Contacts | Sequence[Pair],
    *,
    at: datetime,
    lead_id: int | None = None,
    customer_id: int | None = None,
    contact_person_id: int | None = None,
) -> list[ContactPoint]:
    pairs = contacts.pairs() if isinstance(contacts, Contacts) else contacts
    return [
        ContactPoint(
            kind=kind,
            value=value,
            lead_id=lead_id,
            customer_id=customer_id,
            contact_person_id=contact_person_id,
            created_at=at,
        )
        for kind, value in pairs
    ]


async def insert_contacts(
    session: AsyncSession,
    pairs: Sequence[Pair],
    *,
    at: datetime,
    lead_id: int | None = None,
    customer_id: int | None = None,
    contact_person_id: int | None = None,
) -> None:
    """Insert contact rows in one executemany (the ORM would insert one by one to learn
    their ids on SQLite; nobody needs those ids here)."""
    if not pairs:
        return
    await session.execute(
        insert(ContactPoint),
        [
            {
                "kind": kind,
                "value": value,
                "lead_id": lead_id,
                "customer_id": customer_id,
                "contact_person_id": contact_person_id,
                "created_at": at,
            }
            for kind, value in pairs
        ],
    )


def contact_match(pairs: Sequence[Pair]):
    # OR of (kind AND value), not a row-value IN: SQLite plans the latter as a full
    # scan, the former as one index search per pair (MULTI-INDEX OR).
    return or_(*(and_(ContactPoint.kind == k, ContactPoint.value == v) for k, v in pairs))


@dataclass(frozen=True, slots=True)
class Owner:
    kind: ContactKind
    value: str
    lead_id: int | None
    customer_id: int | None
    lead_open: bool


async def find_owners(session: AsyncSession, pairs: Sequence[Pair]) -> list[Owner]:
    """Every lead and customer (contact persons included) holding one of ``pairs``."""
    if not pairs:
        return []
    rows = await session.execute(
        select(
            ContactPoint.kind,
            ContactPoint.value,
            ContactPoint.lead_id,
            ContactPoint.customer_id,
            Lead.result,
        )
        .outerjoin(Lead, Lead.id == ContactPoint.lead_id)
        .where(contact_match(pairs))
    )
    return [
        Owner(ContactKind(k), v, lead_id, customer_id, result == LeadResult.OPEN)
        for k, v, lead_id, customer_id, result in rows
    ]


async def customer_ids_by_contacts(session: AsyncSession, pairs: Sequence[Pair]) -> list[int]:
    """Customers holding any of ``pairs``, oldest first."""
    if not pairs:
        return []
    rows = await session.scalars(
        select(ContactPoint.customer_id)
        .where(contact_match(pairs), ContactPoint.customer_id.is_not(None))
        .distinct()
    )
    return sorted(rows)
