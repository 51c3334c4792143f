"""Batch intake: many requests in one call, each with the single intake's outcome.

The forms' writer hands in the submissions of one transaction at once. Each request
gets exactly what ``submit`` would give it had the requests come one after another in
this order: merged into an open lead holding one of its contacts (one made by an
earlier request of the same batch too), else added to a customer holding one, else a
new lead; with the same contacts, fills, comments, assignment, incoming event and
outbox rows. The batch costs a fixed number of statements instead of ~8 a request:
one look-up of every contact of the batch, one INSERT of the new leads, one of the
contacts, one of the events and one of the outbox rows, and the history rows the
flushes write.

A lead (or customer) that an earlier request of the batch created or changed is
flushed before the next request changes it, so its history has one row per request,
as one by one; that is the rare case of a visitor sending twice within one batch.

A request the single intake would refuse (an unknown responsible, no lead state)
raises here too, with the batch half done in the session: the caller rolls back (a
savepoint) and may go one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.customers.contacts import Pair, find_owners
from crm_core.leads.intake import (
    IntakeResult,
    LeadInput,
    announce_customer_merge,
    announce_merge,
    announce_new_lead,
    fill_lead,
    lock_contacts,
    new_lead_row,
)
from crm_core.leads.states import default_state
from crm_core.lookup import require_ref
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    Employee,
    Lead,
    LeadResult,
    LeadState,
)


@dataclass(slots=True)
class _Holder:
    """Who holds a contact: a lead (maybe made in this batch, not flushed yet) or a
    customer; as a row of the single intake's look-up would say."""

    lead: Lead | None
    customer_id: int | None
    lead_open: bool


_DEFAULT_STATE = (
    select(LeadState.id.label("state_id"))
    .where(LeadState.active.is_(True))
    .order_by(LeadState.is_default.desc(), LeadState.position, LeadState.id)
    .limit(1)
    .subquery()
)
# Built once, the contacts as two expanding lists: one cached statement whatever the
# batch's size (an OR of 200 pairs would be compiled anew for every size). The index
# on (kind, value) serves both lists; the few rows matching a kind and a value of two
# different pairs are dropped below.
_LOOKUP = (
    select(
        _DEFAULT_STATE.c.state_id,
        ContactPoint.kind,
        ContactPoint.value,
        ContactPoint.customer_id,
        Lead,
    )
    .select_from(_DEFAULT_STATE)
    .outerjoin(
        ContactPoint,
        and_(
            ContactPoint.kind.in_(bindparam("kinds", expanding=True)),
            ContactPoint.value.in_(bindparam("values", expanding=True)),
        ),
    )
    .outerjoin(Lead, Lead.id == ContactPoint.lead_id)
)


async def _lookup(
    session: AsyncSession, pairs: list[Pair]
) -> tuple[int | None, dict[Pair, list[_Holder]]]:
    """One round trip: the default state and every holder of a contact of the batch."""
    kinds = sorted({k for k, _v in pairs})
    values = sorted({v for _k, v in pairs})
    rows = (await session.execute(_LOOKUP, {"kinds": kinds, "values": values})).all()
    wanted = set(pairs)
    holders: dict[Pair, list[_Holder]] = {}
    if not rows:  # no active state at all: still find the holders, refuse a new lead later
        for owner in await find_owners(session, pairs):
            lead = await session.get(Lead, owner.lead_id) if owner.lead_id else None
            holder = _Holder(lead, owner.customer_id, owner.lead_open)
            holders.setdefault((owner.kind, owner.value), []).append(holder)
        return None, holders
    for _state_id, kind, value, customer_id, lead in rows:
        if kind is None:
            continue
        pair = (ContactKind(kind), value)
        if pair not in wanted:
            continue
        is_open = lead is not None and lead.result == LeadResult.OPEN
        holders.setdefault(pair, []).append(_Holder(lead, customer_id, is_open))
    return rows[0][0], holders


async def submit_many(
    session: AsyncSession, items: Sequence[LeadInput], *, contacts_locked: bool = False
) -> list[IntakeResult]:
    """``submit`` for each request in turn (de-duplicated, announced), in a fixed
    number of statements; ``contacts_locked``: the caller holds every contact's lock."""
    for responsible_id in dict.fromkeys(i.responsible_id for i in items if i.responsible_id):
        await require_ref(
            session, Employee, responsible_id, field="responsible_id", what="Employee"
        )
    pairs = list(dict.fromkeys(p for item in items for p in item.contacts.pairs()))
    if pairs and not contacts_locked:
        await lock_contacts(session, pairs)
    state_id, holders = await _lookup(session, pairs)
    at = now(session)
    results: list[IntakeResult] = []
    contacts: list[tuple[list[Pair], Lead | None, int | None]] = []
    # What to announce once the new leads have ids: (kind, item, lead or customer, assigned)
    announce: list[tuple[str, LeadInput, object, bool]] = []
    touched: set[int] = set()  # id() of the leads and customers a request changed
    customers: dict[int, Customer] = {}

    def hold(new: list[Pair], holder: _Holder) -> None:
        for pair in new:
            holders.setdefault(pair, []).append(holder)

    for item in items:
        item_pairs = item.contacts.pairs()
        mine = [h for p in item_pairs for h in holders.get(p, ())]
        if any(
            (h.lead is not None and (h.lead.id is None or id(h.lead) in touched))
            or (h.customer_id in customers and id(customers[h.customer_id]) in touched)
            for h in mine
        ):
            await session.flush()  # (see the module docstring) and new leads get ids
            touched.clear()
        open_leads = sorted({h.lead.id: h.lead for h in mine if h.lead and h.lead_open}.items())
        if open_leads:
            lead = open_leads[0][1]
            had = {p for p in item_pairs for h in holders.get(p, ()) if h.lead is lead}
            new_pairs = [p for p in item_pairs if p not in had]
            contacts.append((new_pairs, lead, None))
            hold(new_pairs, _Holder(lead, None, True))
            _changed, assigned = fill_lead(item, lead, new_contacts=bool(new_pairs), quiet=False)
            lead.updated_at = at
            touched.add(id(lead))
            announce.append(("merged", item, lead, assigned))
            results.append(IntakeResult(lead=lead, customer=None, merged=True))
            continue
        customer_ids = sorted({h.customer_id for h in mine if h.customer_id})
        if customer_ids:
            customer_id = customer_ids[0]
            customer = customers.get(customer_id) or await session.get(Customer, customer_id)
            assert customer is not None
            customers[customer_id] = customer
            had = {
                p for p in item_pairs for h in holders.get(p, ()) if h.customer_id == customer_id
            }
            new_pairs = [p for p in item_pairs if p not in had]
            contacts.append((new_pairs, None, customer_id))
            hold(new_pairs, _Holder(None, customer_id, False))
            if item.telegram_username and not customer.telegram_username:
                customer.telegram_username = item.telegram_username
                touched.add(id(customer))
            announce.append(("customer", item, customer, False))
            results.append(IntakeResult(lead=None, customer=customer, merged=True))
            continue
        if state_id is None:
            state_id = (await default_state(session)).id  # (none active: Conflict)
        lead = new_lead_row(session, item, state_id)
        contacts.append((item_pairs, lead, None))
        hold(item_pairs, _Holder(lead, None, True))
        announce.append(("created", item, lead, False))
        results.append(IntakeResult(lead=lead, customer=None, merged=False))
    await session.flush()  # the new leads' ids, the changed leads and customers
    rows = [
        {
            "kind": kind,
            "value": value,
            "lead_id": lead.id if lead is not None else None,
            "customer_id": customer_id,
            "contact_person_id": None,
            "created_at": at,
        }
        for new_pairs, lead, customer_id in contacts
        for kind, value in new_pairs
    ]
    if rows:
        await session.execute(insert(ContactPoint), rows)
    for kind, item, target, assigned in announce:
        if kind == "created":
            announce_new_lead(session, item, target.id, quiet=False)
        elif kind == "merged":
            announce_merge(session, item, target.id, assigned=assigned)
        else:
            announce_customer_merge(session, item, target.id)
    await session.flush()
    return results
