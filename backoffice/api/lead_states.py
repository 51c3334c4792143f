"""``/lead-states`` (the kanban columns) and ``/hide-reasons``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backoffice.api.deps import Session
from backoffice.api.schemas.customers import IdPath
from backoffice.api.schemas.leads import (
    HideReasonCreate,
    HideReasonOut,
    LeadStateCreate,
    LeadStateOrder,
    LeadStateOut,
    LeadStateUpdate,
)
from backoffice.api.schemas_common import ListOf
from crm_core.leads import states

router = APIRouter(tags=["lead states"])


@router.get("/lead-states", response_model=ListOf[LeadStateOut])
async def list_lead_states(session: Session, include_inactive: bool = False):
    items = await states.list_lead_states(session, include_inactive=include_inactive)
    return ListOf[LeadStateOut](
        items=[LeadStateOut.model_validate(s) for s in items], total=len(items)
    )


@router.post("/lead-states", response_model=LeadStateOut, status_code=201)
async def create_lead_state(body: LeadStateCreate, session: Session) -> LeadStateOut:
    state = await states.create_lead_state(session, **body.model_dump())
    return LeadStateOut.model_validate(state)


@router.put("/lead-states/order", response_model=ListOf[LeadStateOut])
async def reorder_lead_states(body: LeadStateOrder, session: Session):
    """Put the active states in this order (every active state id exactly once)."""
    items = await states.reorder_lead_states(session, body.ids)
    return ListOf[LeadStateOut](
        items=[LeadStateOut.model_validate(s) for s in items], total=len(items)
    )


@router.patch("/lead-states/{state_id}", response_model=LeadStateOut)
async def update_lead_state(
    state_id: IdPath, body: LeadStateUpdate, session: Session
) -> LeadStateOut:
    state = await states.update_lead_state(session, state_id, **body.model_dump(exclude_unset=True))
    return LeadStateOut.model_validate(state)


@router.delete("/lead-states/{state_id}", status_code=204)
async def delete_lead_state(state_id: IdPath, session: Session) -> Response:
    await states.delete_lead_state(session, state_id)
    return Response(status_code=204)


@router.get("/hide-reasons", response_model=ListOf[HideReasonOut])
async def list_hide_reasons(session: Session, include_inactive: bool = False):
    items = await states.list_hide_reasons(session, include_inactive=include_inactive)
    return ListOf[HideReasonOut](
        items=[HideReasonOut.model_validate(r) for r in items], total=len(items)
    )


@router.post("/hide-reasons", response_model=HideReasonOut, status_code=201)
async def create_hide_reason(body: HideReasonCreate, session: Session) -> HideReasonOut:
    reason = await states.create_hide_reason(session, **body.model_dump())
    return HideReasonOut.model_validate(reason)
