"""Leads from rows (a list from an exhibition, a call centre, another CRM) through the
same intake every door uses: a row whose phone or email an open lead already holds is
merged into it, one a customer holds is added to the customer, the rest become leads
with source ``import``. Importing the same file twice makes nobody twice, and a row
that brings nothing new reports ``unchanged``.

Imports are quiet: no ``lead.created``/``lead.merged`` per row (a file of a thousand
leads must not send the managers a thousand Telegram messages); each imported batch
emits one ``leads.imported`` with its counts instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.customers.contacts import find_owners
from crm_core.errors import DomainError, ValidationFailed
from crm_core.imports.rows import (
    CREATED,
    ERROR,
    UNCHANGED,
    UPDATED,
    ImportRow,
    RowResult,
    error_result,
)
from crm_core.leads.intake import UTM_FIELDS, LeadInput, build_input, submit
from crm_core.leads.states import resolve_state
from crm_core.models import Employee, Lead, LeadSource
from crm_core.outbox import emit

FIELDS = (
    "name",
    "phone",
    "email",
    "company",
    "source_detail",
    "state",
    "responsible",
    "comment",
    *UTM_FIELDS,
)


async def _employees(session: AsyncSession, rows: Sequence[ImportRow]) -> dict[str, int]:
    """Active employees named in the rows' ``responsible`` column, by lower-case email."""
    emails = {r.get("responsible").lower() for r in rows if r.get("responsible")}
    if not emails:
        return {}
    found = await session.execute(
        select(func.lower(Employee.email), Employee.id).where(
            func.lower(Employee.email).in_(sorted(emails)), Employee.active.is_(True)
        )
    )
    return {email: employee_id for email, employee_id in found}


def _check(row: ImportRow, employees: dict[str, int]) -> LeadInput:
    """The row as the intake's input, or a ValidationFailed naming the field."""
    responsible = row.get("responsible")
    responsible_id = None
    if responsible:
        responsible_id = employees.get(responsible.lower())
        if responsible_id is None:
            raise ValidationFailed(
                f"No active employee with the email {responsible!r}", field="responsible"
            )
    item = build_input(
        name=row.get("name"),
        phones=row.many("phone"),
        emails=row.many("email"),
        telegram_id=None,
        telegram_username=None,
        company=row.get("company"),
        legal_name=None,
        source=LeadSource.IMPORT,
        source_detail=row.get("source_detail"),
        utm={key: row.get(key) for key in UTM_FIELDS},
        comment=row.get("comment"),
        responsible_id=responsible_id,
        data=None,
    )
    # A lead without a phone or an email could not be found again: a second import of
    # the file would make it twice.
    if not item.contacts.phones and not item.contacts.emails:
        raise ValidationFailed("A phone or an email is required", field="phone")
    return item


# What a merge may fill in on a lead that lacks it (crm_core.leads.intake).
FILLED = ("name", "company", *UTM_FIELDS)


@dataclass(slots=True)
class _Holder:
    """Who holds a contact during a preview: an open lead, a customer or an earlier row,
    with what it already has — so a row that brings nothing new says ``unchanged``."""

    label: str
    pairs: set[tuple]
    filled: set[str]
    comment: str = ""


def _gives(item: LeadInput) -> dict[str, str]:
    values = {"name": item.name, "company": item.company, **item.utm}
    return {k: v for k, v in values.items() if v}


async def _holder_of(session: AsyncSession, pairs: list[tuple]) -> _Holder | None:
    owners = await find_owners(session, pairs)
    open_leads = sorted({o.lead_id for o in owners if o.lead_id and o.lead_open})
    if open_leads:
        lead = await session.get(Lead, open_leads[0])
        assert lead is not None
        held = {(o.kind, o.value) for o in owners if o.lead_id == lead.id}
        filled = {f for f in FILLED if getattr(lead, f)}
        return _Holder(f"lead {lead.id}", held, filled, lead.comment or "")
    customers = sorted({o.customer_id for o in owners if o.customer_id})
    if customers:
        held = {(o.kind, o.value) for o in owners if o.customer_id == customers[0]}
        # Only new contacts change a customer; its fields are the manager's.
        return _Holder(f"customer {customers[0]}", held, set(FILLED), "")
    return None


async def preview_leads(session: AsyncSession, rows: Sequence[ImportRow]) -> list[RowResult]:
    """What importing ``rows`` would do, row by row; writes nothing."""
    employees = await _employees(session, rows)
    results = []
    seen: dict[tuple, _Holder] = {}  # contact -> what holds it
    for row in rows:
        try:
            item = _check(row, employees)
            if row.get("state"):
                await resolve_state(session, row.get("state"))
        except DomainError as exc:
            results.append(error_result(row, exc))
            continue
        pairs = item.contacts.pairs()
        holder = next((seen[p] for p in pairs if p in seen), None)
        if holder is None:
            holder = await _holder_of(session, pairs)
        gives = _gives(item)
        if holder is None:
            results.append(RowResult(row.number, CREATED))
            holder = _Holder(f"row {row.number}", set(pairs), set(gives), item.comment or "")
        else:
            # A customer's comment is the manager's: an imported one is not added there.
            new_comment = bool(item.comment) and item.comment not in holder.comment
            changes = (
                any(p not in holder.pairs for p in pairs)
                or any(f not in holder.filled for f in gives)
                or (new_comment and not holder.label.startswith("customer"))
            )
            status = UPDATED if changes else UNCHANGED
            results.append(RowResult(row.number, status, note=f"matches {holder.label}"))
            holder.pairs.update(pairs)
            holder.filled.update(gives)
            if item.comment and item.comment not in holder.comment:
                holder.comment += "\n\n" + item.comment
        for pair in pairs:
            seen.setdefault(pair, holder)
    return results


async def import_leads(session: AsyncSession, rows: Sequence[ImportRow]) -> list[RowResult]:
    """Create or merge a lead per row, each in a savepoint; errors are per row."""
    employees = await _employees(session, rows)
    results: list[RowResult] = []
    created: list[int] = []
    for row in rows:
        try:
            item = _check(row, employees)
            async with session.begin_nested():
                taken = await submit(session, item, state=row.get("state"), quiet=True)
        except DomainError as exc:
            results.append(error_result(row, exc))
            continue
        if taken.lead is not None and not taken.merged:
            created.append(taken.lead.id)
            results.append(RowResult(row.number, CREATED, id=taken.lead.id))
        elif taken.lead is not None:
            status = UPDATED if taken.changed else UNCHANGED
            results.append(RowResult(row.number, status, id=taken.lead.id))
        else:
            assert taken.customer is not None
            status = UPDATED if taken.changed else UNCHANGED
            results.append(
                RowResult(row.number, status, id=taken.customer.id, note="the customer holds it")
            )
    counts = {s: sum(r.status == s for r in results) for s in (CREATED, UPDATED, UNCHANGED)}
    counts["error"] = sum(r.status == ERROR for r in results)
    if counts[CREATED] or counts[UPDATED]:
        emit(
            session,
            "leads.imported",
            {**counts, "lead_ids": created[:1000]},
        )
    return results
