"""``/order-kinds``: order kinds, each with its ordered, editable states."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from backoffice.api.deps import Session
from backoffice.api.schemas.catalog import MAX_ID
from backoffice.api.schemas.orders import (
    OrderKindCreate,
    OrderKindOut,
    OrderKindUpdate,
    StateCreate,
    StateOrder,
    StateOut,
    StateUpdate,
)
from backoffice.api.schemas_common import ListOf
from crm_core.orders import kinds

router = APIRouter(tags=["order kinds"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/order-kinds", response_model=ListOf[OrderKindOut])
async def list_order_kinds(session: Session, active: bool | None = None):
    items = await kinds.list_order_kinds(session, active=active)
    return ListOf[OrderKindOut](items=[OrderKindOut.of(k) for k in items], total=len(items))


@router.post("/order-kinds", response_model=OrderKindOut, status_code=201)
async def create_order_kind(body: OrderKindCreate, session: Session) -> OrderKindOut:
    states = [s.model_dump() for s in body.states] if body.states is not None else None
    kind = await kinds.create_order_kind(
        session, code=body.code, name=body.name, is_default=body.is_default, states=states
    )
    return OrderKindOut.of(await kinds.get_order_kind(session, kind.id))


@router.get("/order-kinds/{kind_id}", response_model=OrderKindOut)
async def get_order_kind(kind_id: IdPath, session: Session) -> OrderKindOut:
    return OrderKindOut.of(await kinds.get_order_kind(session, kind_id))


@router.patch("/order-kinds/{kind_id}", response_model=OrderKindOut)
async def update_order_kind(kind_id: IdPath, body: OrderKindUpdate, session: Session):
    kind = await kinds.update_order_kind(session, kind_id, **body.model_dump(exclude_unset=True))
    return OrderKindOut.of(kind)


@router.get("/order-kinds/{kind_id}/states", response_model=ListOf[StateOut])
async def list_states(kind_id: IdPath, session: Session) -> ListOf[StateOut]:
    kind = await kinds.get_order_kind(session, kind_id)
    items = [StateOut.model_validate(s) for s in kind.states]
    return ListOf[StateOut](items=items, total=len(items))


@router.post("/order-kinds/{kind_id}/states", response_model=StateOut, status_code=201)
async def add_state(kind_id: IdPath, body: StateCreate, session: Session) -> StateOut:
    return StateOut.model_validate(await kinds.add_state(session, kind_id, **body.model_dump()))


@router.put("/order-kinds/{kind_id}/states/order", response_model=ListOf[StateOut])
async def reorder_states(kind_id: IdPath, body: StateOrder, session: Session):
    items = await kinds.reorder_states(session, kind_id, body.state_ids)
    return ListOf[StateOut](items=[StateOut.model_validate(s) for s in items], total=len(items))


@router.patch("/order-kinds/{kind_id}/states/{state_id}", response_model=StateOut)
async def update_state(kind_id: IdPath, state_id: IdPath, body: StateUpdate, session: Session):
    fields = body.model_dump(exclude_unset=True)
    return StateOut.model_validate(await kinds.update_state(session, kind_id, state_id, **fields))


@router.delete("/order-kinds/{kind_id}/states/{state_id}", status_code=204)
async def delete_state(kind_id: IdPath, state_id: IdPath, session: Session) -> Response:
    await kinds.delete_state(session, kind_id, state_id)
    return Response(status_code=204)
