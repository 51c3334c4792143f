"""``/firm``: the firm's requisites printed on invoices. Every token may read them;
changing them needs an admin token (the same rule as ``/employees``)."""

from __future__ import annotations

from fastapi import APIRouter

from backoffice.api.deps import Session
from backoffice.api.schemas.firm import FirmOut, FirmUpdate
from crm_core.employees.access import require_admin
from crm_core.invoices.firm import get_firm, set_firm

router = APIRouter(tags=["firm"])


@router.get("/firm", response_model=FirmOut)
async def read_firm(session: Session) -> FirmOut:
    """The requisites; a requisite not set yet is an empty string."""
    return FirmOut.model_validate(await get_firm(session))


@router.put("/firm", response_model=FirmOut)
async def change_firm(body: FirmUpdate, session: Session) -> FirmOut:
    """Change the requisites sent; the ones left out keep their value."""
    await require_admin(session, action="change the firm's requisites")
    return FirmOut.model_validate(await set_firm(session, body.model_dump(exclude_unset=True)))
