"""Customers from rows: validated, de-duplicated by phone/email through the core
(a row whose contacts a customer already holds updates that customer), so importing
the same file twice creates nobody twice.

``preview_customers`` checks every row and says what would happen without writing;
``import_customers`` does it, each row in its own savepoint so a bad row never spoils
the batch around it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.customers.common import clean_text, validate_inn
from crm_core.customers.contacts import (
    Contacts,
    Pair,
    customer_ids_by_contacts,
    find_owners,
    normalize_contacts,
)
from crm_core.customers.service import add_customers, normalize_tags, prepare_customer
from crm_core.errors import Conflict, DomainError, ValidationFailed
from crm_core.imports.matching import match_customer
from crm_core.imports.rows import (
    CREATED,
    ERROR,
    UNCHANGED,
    UPDATED,
    ImportRow,
    RowResult,
    error_result,
)
from crm_core.models import Customer, CustomerKind, CustomerTag, LeadSource

FIELDS = ("name", "phone", "email", "kind", "legal_name", "inn", "address", "comment", "tags")
# Fields a match fills in when the customer has them empty (crm_core.imports.matching).
FILLED = ("legal_name", "address")
KINDS = {
    "person": CustomerKind.PERSON,
    "физлицо": CustomerKind.PERSON,
    "физ. лицо": CustomerKind.PERSON,
    "company": CustomerKind.COMPANY,
    "юрлицо": CustomerKind.COMPANY,
    "юр. лицо": CustomerKind.COMPANY,
    "организация": CustomerKind.COMPANY,
}


def _kind(row: ImportRow) -> CustomerKind:
    raw = (row.get("kind") or "person").lower()
    if raw not in KINDS:
        raise ValidationFailed(f"Unknown customer kind {raw!r}", field="kind")
    return KINDS[raw]


def _check(row: ImportRow):
    """Normalised contacts of a row, or a ValidationFailed naming the field."""
    contacts = normalize_contacts(row.many("phone"), row.many("email"))
    if not contacts:
        raise ValidationFailed("A phone or an email is required", field="phone")
    name = row.get("name")
    if name and len(name) > 200:
        raise ValidationFailed("name is longer than 200 characters", field="name")
    _kind(row)
    for field, limit in (("legal_name", 300), ("address", 500), ("comment", 10000)):
        clean_text(row.get(field), field=field, max_length=limit)
    validate_inn(row.get("inn"))
    normalize_tags(row.many("tags"))
    return contacts


async def preview_customers(session: AsyncSession, rows: Sequence[ImportRow]) -> list[RowResult]:
    """What importing ``rows`` would do, row by row; writes nothing."""
    results = []
    seen: dict[tuple, int] = {}  # contact -> the first row (or customer) holding it
    filled: dict[int, set[str]] = {}  # per first row or customer: the fields it has
    for row in rows:
        try:
            contacts = _check(row)
        except DomainError as exc:
            results.append(error_result(row, exc))
            continue
        pairs = contacts.pairs()
        earlier = next((seen[p] for p in pairs if p in seen), None)
        ids = await customer_ids_by_contacts(session, pairs) if earlier is None else []
        gives = {f for f in FILLED if row.get(f)}
        if ids:
            customer = await session.get(Customer, ids[0])
            key = -customer.id
            filled.setdefault(key, {f for f in FILLED if getattr(customer, f)})
            owned = {(o.kind, o.value) for o in await find_owners(session, pairs)}
            for pair in owned:
                seen.setdefault(pair, key)
            earlier = key
        if earlier is not None:
            new_contacts = any(p not in seen for p in pairs)
            new_fields = bool(gives - filled[earlier])
            status = UPDATED if new_contacts or new_fields else UNCHANGED
            note = "matches a customer" if earlier < 0 else f"same person as row {earlier}"
            filled[earlier] |= gives
            results.append(
                RowResult(row.number, status, id=-earlier if earlier < 0 else None, note=note)
            )
        elif not row.get("name"):
            results.append(RowResult(row.number, ERROR, errors={"name": "A name is required"}))
            continue
        else:
            filled[row.number] = gives
            earlier = row.number
            results.append(RowResult(row.number, CREATED))
        for pair in pairs:
            seen.setdefault(pair, earlier)
    return results


async def _known(
    session: AsyncSession, checked: list[tuple[ImportRow, Contacts]]
) -> tuple[dict[Pair, int | None], dict[int, tuple[set[str], set[str]]]]:
    """For the batch's contacts at once: who holds each (customer id, or None for a lead
    only), and the held customers' filled fields and tags."""
    pairs = sorted({p for _row, contacts in checked for p in contacts.pairs()})
    holders: dict[Pair, int | None] = {}
    for i in range(0, len(pairs), 200):
        for owner in await find_owners(session, pairs[i : i + 200]):
            key = (owner.kind, owner.value)
            current = holders.get(key)
            if owner.customer_id is not None and (current is None or owner.customer_id < current):
                holders[key] = owner.customer_id
            else:
                holders.setdefault(key, None)
    ids = sorted({cid for cid in holders.values() if cid is not None})
    facts: dict[int, tuple[set[str], set[str]]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = await session.execute(
            select(Customer.id, Customer.legal_name, Customer.address).where(Customer.id.in_(chunk))
        )
        for cid, legal_name, address in rows:
            filled = {f for f, v in (("legal_name", legal_name), ("address", address)) if v}
            facts[cid] = (filled, set())
        tags = await session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag).where(
                CustomerTag.customer_id.in_(chunk)
            )
        )
        for cid, tag in tags:
            facts[cid][1].add(tag)
    return holders, facts


def _nothing_new(
    row: ImportRow,
    contacts: Contacts,
    holders: dict[Pair, int | None],
    facts: dict[int, tuple[set[str], set[str]]],
) -> int | None:
    """The customer the row names when importing it would change nothing, else None."""
    pairs = contacts.pairs()
    if any(p not in holders for p in pairs):
        return None  # a contact nobody holds: it would be added (or a customer created)
    held = [holders[p] for p in pairs if holders[p] is not None]
    if not held:
        return None
    customer_id = min(held)
    filled, tags = facts.get(customer_id, (set(), set()))
    if any(row.get(f) and f not in filled for f in FILLED):
        return None
    if any(t not in tags for t in normalize_tags(row.many("tags"))):
        return None
    return customer_id


async def import_customers(session: AsyncSession, rows: Sequence[ImportRow]) -> list[RowResult]:
    """Create or update a customer per row; errors are per row.

    The batch's contacts are looked up at once, so a row that would change nothing
    (a re-imported file) costs no query of its own; new customers are checked one by
    one and written together (one INSERT per table for the lot); rows that match a
    customer go through the core (``match_customer``) one by one, each in a savepoint.
    """
    results: dict[int, RowResult] = {}
    checked: list[tuple[ImportRow, Contacts]] = []
    for row in rows:
        try:
            checked.append((row, _check(row)))
        except DomainError as exc:
            results[row.number] = error_result(row, exc)
    holders, facts = await _known(session, checked)
    touched: set[Pair] = set()  # contacts this batch added: their holders are stale
    pending: list[tuple[int, Customer]] = []  # new customers not yet written
    inns: dict[str, int] = {}  # INN -> the row whose new customer has it

    async def write_pending() -> None:
        if pending:
            await add_customers(session, [customer for _number, customer in pending])
            for number, customer in pending:
                results[number] = RowResult(number, CREATED, id=customer.id)
            pending.clear()

    for row, contacts in checked:
        pairs = contacts.pairs()
        if not touched.intersection(pairs):
            same = _nothing_new(row, contacts, holders, facts)
            if same is not None:
                results[row.number] = RowResult(row.number, UNCHANGED, id=same)
                continue
        if not touched.intersection(pairs) and not any(p in holders for p in pairs):
            # Nobody holds any of its contacts: a new customer. Every check runs before
            # anything is written, so no savepoint is needed.
            try:
                customer = await prepare_customer(
                    session,
                    name=row.get("name") or "",
                    kind=_kind(row),
                    legal_name=row.get("legal_name"),
                    inn=row.get("inn"),
                    contacts=contacts,
                    address=row.get("address"),
                    comment=row.get("comment"),
                    tags=row.many("tags"),
                    source=LeadSource.IMPORT,
                )
                if customer.inn and customer.inn in inns:
                    raise Conflict(
                        f"INN {customer.inn} is already in row {inns[customer.inn]}", field="inn"
                    )
            except DomainError as exc:
                results[row.number] = error_result(row, exc)
                continue
            if customer.inn:
                inns[customer.inn] = row.number
            pending.append((row.number, customer))
            touched.update(pairs)
            continue
        await write_pending()  # a match must see the customers written before it
        try:
            async with session.begin_nested():
                matched = await match_customer(
                    session,
                    name=row.get("name"),
                    phones=row.many("phone"),
                    emails=row.many("email"),
                    kind=_kind(row),
                    legal_name=row.get("legal_name"),
                    inn=row.get("inn"),
                    address=row.get("address"),
                    comment=row.get("comment"),
                    tags=row.many("tags"),
                )
                await session.flush()
        except DomainError as exc:
            results[row.number] = error_result(row, exc)
            continue
        touched.update(pairs)
        status = CREATED if matched.created else UPDATED if matched.updated else UNCHANGED
        results[row.number] = RowResult(row.number, status, id=matched.customer.id)
    await write_pending()
    return [results[n] for n in sorted(results)]
