"""``/leads``: the lead list, intake by API, changes, conversion and hiding."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.customers import MAX_ID, EventBrief, IdPath
from backoffice.api.schemas.leads import (
    ConvertIn,
    ConvertOut,
    HideIn,
    LeadCreate,
    LeadOut,
    LeadUpdate,
    lead_out,
)
from backoffice.api.schemas_common import HistoryOut, ListOf
from crm_core.leads import service
from crm_core.models import LeadSource

router = APIRouter(tags=["leads"])


@router.get("/leads", response_model=ListOf[LeadOut])
async def list_leads(
    session: Session,
    page: Page,
    state: Annotated[str | None, Query(max_length=50, description="state code or id")] = None,
    result: Literal["open", "converted", "hidden", "all"] = "open",
    q: Annotated[str | None, Query(max_length=200)] = None,
    source: LeadSource | None = None,
    responsible_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
) -> ListOf[LeadOut]:
    items, total = await service.list_leads(
        session,
        state=state,
        result=result,
        q=q,
        source=source,
        responsible_id=responsible_id,
        created_from=created_from,
        created_to=created_to,
        limit=page.limit,
        offset=page.offset,
    )
    return ListOf[LeadOut](items=[lead_out(lead) for lead in items], total=total)


@router.post("/leads", response_model=LeadOut, status_code=201)
async def create_lead(
    body: LeadCreate,
    session: Session,
    response: Response,
    dedupe: bool = True,
) -> LeadOut:
    """A new lead; if its contacts match an open lead, the request is merged into that
    lead (200, ``merged: true``); if they match a customer, 409."""
    fields = body.model_dump(exclude={"phone", "phones", "email", "emails"})
    result = await service.create_lead(
        session,
        dedupe=dedupe,
        phones=[p for p in [body.phone, *body.phones] if p],
        emails=[e for e in [body.email, *body.emails] if e],
        **fields,
    )
    assert result.lead is not None  # a customer match is a Conflict for this door
    if result.merged:
        response.status_code = 200
    return lead_out(await service.get_lead(session, result.lead.id), merged=result.merged)


@router.get("/leads/{lead_id}", response_model=LeadOut)
async def get_lead(lead_id: IdPath, session: Session) -> LeadOut:
    return lead_out(await service.get_lead(session, lead_id))


@router.patch("/leads/{lead_id}", response_model=LeadOut)
async def update_lead(lead_id: IdPath, body: LeadUpdate, session: Session) -> LeadOut:
    changes = body.model_dump(exclude_unset=True)
    lead = await service.update_lead(session, lead_id, **changes)
    return lead_out(lead)


@router.post("/leads/{lead_id}/convert", response_model=ConvertOut)
async def convert_lead(lead_id: IdPath, body: ConvertIn, session: Session) -> ConvertOut:
    customer, order = await service.convert_lead(
        session, lead_id, create_order=body.create_order, customer_id=body.customer_id
    )
    return ConvertOut(customer_id=customer.id, order_id=order.id if order else None)


@router.post("/leads/{lead_id}/hide", response_model=LeadOut)
async def hide_lead(lead_id: IdPath, body: HideIn, session: Session) -> LeadOut:
    await service.hide_lead(session, lead_id, reason=body.reason, comment=body.comment)
    return lead_out(await service.get_lead(session, lead_id))


@router.post("/leads/{lead_id}/reopen", response_model=LeadOut)
async def reopen_lead(lead_id: IdPath, session: Session) -> LeadOut:
    await service.reopen_lead(session, lead_id)
    return lead_out(await service.get_lead(session, lead_id))


@router.get("/leads/{lead_id}/history", response_model=ListOf[HistoryOut])
async def lead_history(lead_id: IdPath, session: Session, page: Page) -> ListOf[HistoryOut]:
    items, total = await service.lead_history(
        session, lead_id, limit=page.limit, offset=page.offset
    )
    return ListOf[HistoryOut](items=[HistoryOut.model_validate(h) for h in items], total=total)


@router.get("/leads/{lead_id}/events", response_model=ListOf[EventBrief])
async def lead_events(lead_id: IdPath, session: Session, page: Page) -> ListOf[EventBrief]:
    items, total = await service.lead_events(session, lead_id, limit=page.limit, offset=page.offset)
    return ListOf[EventBrief](items=[EventBrief.model_validate(e) for e in items], total=total)
