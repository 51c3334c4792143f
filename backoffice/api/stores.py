"""``/stores``: online stores Firma exchanges with as the business system.

Changing a store needs an admin token (it holds a password and sends the catalog
out); reading any token. ``POST /stores/{id}/run`` makes the store due: the worker
runs it at its next pass and ``GET /exchanges?store_id=`` shows how it went.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.stores import StoreCreate, StoreOut, StoreUpdate, store_out
from backoffice.api.schemas_common import ListOf
from crm_core.employees.access import require_admin
from crm_core.exchange import stores

router = APIRouter(tags=["exchange"])
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
DEV_SECRET = "dev-secret-change-me"  # the default FIRMA_SECRET_KEY, for a bare API app


def _secret(request: Request) -> str:
    """FIRMA_SECRET_KEY, which the composition root puts on the API app's state."""
    return getattr(request.app.state, "secret_key", None) or DEV_SECRET


@router.get("/stores", response_model=ListOf[StoreOut])
async def list_stores(session: Session, page: Page) -> ListOf[StoreOut]:
    items, total = await stores.list_stores(session, limit=page.limit, offset=page.offset)
    return ListOf[StoreOut](items=[store_out(s) for s in items], total=total)


@router.post("/stores", response_model=StoreOut, status_code=201)
async def create_store(body: StoreCreate, session: Session, request: Request) -> StoreOut:
    await require_admin(session, action="add an online store")
    store = await stores.create_store(session, body.model_dump(), secret_key=_secret(request))
    return store_out(store)


@router.get("/stores/{store_id}", response_model=StoreOut)
async def read_store(store_id: IdPath, session: Session) -> StoreOut:
    return store_out(await stores.get_store(session, store_id))


@router.patch("/stores/{store_id}", response_model=StoreOut)
async def change_store(
    store_id: IdPath, body: StoreUpdate, session: Session, request: Request
) -> StoreOut:
    await require_admin(session, action="change an online store")
    values = body.model_dump(exclude_unset=True)
    store = await stores.update_store(session, store_id, values, secret_key=_secret(request))
    return store_out(store)


@router.delete("/stores/{store_id}", status_code=204)
async def delete_store(store_id: IdPath, session: Session) -> Response:
    await require_admin(session, action="remove an online store")
    await stores.delete_store(session, store_id)
    return Response(status_code=204)


@router.post("/stores/{store_id}/run", response_model=StoreOut, status_code=202)
async def run_store(store_id: IdPath, session: Session) -> StoreOut:
    """Run the exchange now (the worker picks it up within its idle interval)."""
    return store_out(await stores.request_run(session, store_id))
