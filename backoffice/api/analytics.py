"""``/analytics``: the sales funnel and plan vs actual."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from backoffice.api.deps import Session, context
from backoffice.api.schemas.activity import MAX_ID
from backoffice.api.schemas.analytics import (
    FunnelOut,
    GroupPlanReportOut,
    Month,
    PlanReportOut,
)
from crm_core.analytics.periods import next_month
from crm_core.analytics.service import plan_vs_actual, plan_vs_actual_by_group, sales_funnel
from crm_core.context import now

router = APIRouter(tags=["analytics"])
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _today(session, timezone: str) -> date:
    return now(session).astimezone(ZoneInfo(timezone)).date()


@router.get("/analytics/funnel", response_model=FunnelOut)
async def funnel(
    request: Request,
    session: Session,
    date_from: Annotated[date | None, Query(description="first day (default: this month)")] = None,
    date_to: Annotated[date | None, Query(description="last day, inclusive")] = None,
    kind_id: QueryId = None,
    responsible_id: QueryId = None,
) -> FunnelOut:
    """Orders per state dated in the firm's days ``date_from..date_to`` (both inclusive),
    and the lead → customer → order → paid chain of the leads created then."""
    tz = context(request).timezone
    today = _today(session, tz)
    first = date_from or today.replace(day=1)
    last = date_to or (date.fromordinal(next_month(first).toordinal() - 1))
    report = await sales_funnel(
        session,
        date_from=first,
        date_to=last,
        kind_id=kind_id,
        responsible_id=responsible_id,
        timezone=tz,
    )
    return FunnelOut.model_validate(asdict(report))


@router.get("/analytics/sales-plan", response_model=PlanReportOut | GroupPlanReportOut)
async def sales_plan(
    request: Request,
    session: Session,
    period: Annotated[Month | None, Query(description="YYYY-MM (default: this month)")] = None,
    period_to: Annotated[Month | None, Query(description="last month of a range")] = None,
    employee_id: QueryId = None,
    by_month: bool = False,
    by: Annotated[
        Literal["employee", "group"], Query(description="rows per employee or product group")
    ] = "employee",
) -> PlanReportOut | GroupPlanReportOut:
    """Plan vs actual per employee (sold and paid) or per product group (line amounts)."""
    tz = context(request).timezone
    report_of = plan_vs_actual_by_group if by == "group" else plan_vs_actual
    report = await report_of(
        session,
        period=period or _today(session, tz).strftime("%Y-%m"),
        period_to=period_to,
        employee_id=employee_id,
        by_month=by_month,
        timezone=tz,
    )
    out = GroupPlanReportOut if by == "group" else PlanReportOut
    return out.model_validate(asdict(report))
