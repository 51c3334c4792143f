"""``/exchange-1c``: the account 1C uses for ``/exchange/1c``; ``/exchanges``: the log.

Changing the account needs an admin token (it opens the catalog to writes), reading
the log any token (managers look there when 1C says the exchange failed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.exchange import Exchange1COut, Exchange1CUpdate, ExchangeOut
from backoffice.api.schemas_common import ListOf
from crm_core.employees.access import require_admin
from crm_core.exchange.log import list_exchanges
from crm_core.exchange.settings import get_exchange_settings, set_exchange_settings

router = APIRouter(tags=["exchange"])


@router.get("/exchange-1c", response_model=Exchange1COut)
async def read_exchange_1c(session: Session) -> Exchange1COut:
    return Exchange1COut.model_validate(await get_exchange_settings(session))


@router.put("/exchange-1c", response_model=Exchange1COut)
async def change_exchange_1c(body: Exchange1CUpdate, session: Session) -> Exchange1COut:
    """Set the login and password 1C sends (Basic auth) and switch the exchange on."""
    await require_admin(session, action="change the 1C exchange account")
    values = body.model_dump(exclude_unset=True)
    return Exchange1COut.model_validate(await set_exchange_settings(session, values))


@router.get("/exchanges", response_model=ListOf[ExchangeOut])
async def read_exchanges(
    session: Session,
    page: Page,
    peer: Annotated[str | None, Query(max_length=30, description='"1c" or "store"')] = None,
    store_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ListOf[ExchangeOut]:
    """Every exchange step (a store's whole run is one) with what moved and what
    failed, newest first."""
    items, total = await list_exchanges(
        session, limit=page.limit, offset=page.offset, peer=peer, store_id=store_id
    )
    return ListOf[ExchangeOut](items=[ExchangeOut.model_validate(i) for i in items], total=total)
