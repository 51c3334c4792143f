"""``/sales-plans``: the monthly plan rows (per employee or the firm, per product group)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.activity import MAX_ID, IdPath
from backoffice.api.schemas.analytics import Month, SalesPlanOut, SalesPlanPut
from backoffice.api.schemas_common import ListOf
from crm_core.plans import service

router = APIRouter(tags=["sales plans"])


@router.get("/sales-plans", response_model=ListOf[SalesPlanOut])
async def list_plans(
    session: Session,
    page: Page,
    period: Annotated[Month | None, Query(description="one month, YYYY-MM")] = None,
    period_from: Month | None = None,
    period_to: Month | None = None,
    employee_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ListOf[SalesPlanOut]:
    items, total = await service.list_plans(
        session,
        period_from=period or period_from,
        period_to=period or period_to,
        employee_id=employee_id,
        limit=page.limit,
        offset=page.offset,
    )
    return ListOf[SalesPlanOut](items=[SalesPlanOut.model_validate(p) for p in items], total=total)


@router.put("/sales-plans", response_model=ListOf[SalesPlanOut])
async def set_plans(body: SalesPlanPut, session: Session) -> ListOf[SalesPlanOut]:
    """Set the given rows (create or replace by month, employee and group); other rows
    stay. ``amount: null`` removes a row. Returns the rows now set."""
    kept = await service.set_plans(session, rows=[item.model_dump() for item in body.items])
    return ListOf[SalesPlanOut](
        items=[SalesPlanOut.model_validate(p) for p in kept], total=len(kept)
    )


@router.delete("/sales-plans/{plan_id}", status_code=204)
async def delete_plan(plan_id: IdPath, session: Session) -> Response:
    await service.delete_plan(session, plan_id)
    return Response(status_code=204)
