"""Analytics: the sales funnel (``/office/analytics/funnel``) and the sales plan with
plan vs actual (``/office/analytics/plan``), both drawn as SVG made on the server."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.charts import FunnelBar, PlanBar, funnel_svg, plan_svg
from backoffice.office.deps import AdminDep, StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pages.typed_input import decimal_value, query_day, query_id
from backoffice.office.templating import environment, render
from crm_core.analytics.periods import next_month
from crm_core.analytics.service import plan_vs_actual, sales_funnel
from crm_core.context import now
from crm_core.employees.service import list_employees
from crm_core.errors import ValidationFailed
from crm_core.orders.kinds import list_order_kinds
from crm_core.plans.service import list_plans, parse_period, set_plans

router = APIRouter()

STAGES = {
    "leads": N_("Leads"),
    "converted": N_("Became customers"),
    "ordered": N_("Ordered"),
    "paid": N_("Paid in full"),
}


def _today(staff) -> date:
    return now(staff.session).astimezone(staff.tz).date()


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value} %"


@router.get("/analytics/funnel")
async def funnel(request: Request, staff: StaffDep) -> Response:
    _ = staff._
    query = request.query_params
    today = _today(staff)
    first = query_day(query.get("from")) or today.replace(day=1)
    last = query_day(query.get("to")) or next_month(first) - timedelta(days=1)
    preset = query.get("period")
    if preset == "year":
        first, last = today.replace(month=1, day=1), today.replace(month=12, day=31)
    elif preset == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        last = next_month(next_month(next_month(first))) - timedelta(days=1)
    error = ""
    if last < first or (last - first).days > 3700:
        error = _("The period is not valid: showing this month.")
        first, last = today.replace(day=1), next_month(today.replace(day=1)) - timedelta(days=1)
    kinds = await list_order_kinds(staff.session)
    kind_id = query_id(query.get("kind"))
    if kind_id not in {k.id for k in kinds}:
        kind_id = None
    employees, _total = await list_employees(staff.session, limit=500)
    responsible_id = query_id(query.get("responsible"))
    if responsible_id not in {e.id for e in employees}:
        responsible_id = None
    report = await sales_funnel(
        staff.session,
        date_from=first,
        date_to=last,
        kind_id=kind_id,
        responsible_id=responsible_id,
        timezone=staff.ctx.timezone,
    )
    env = environment(staff.lang)
    money, number = env.filters["money"], env.filters["number"]
    bars = [
        FunnelBar(
            label=row.name,
            value=row.reached if row.reached is not None else row.count,
            text=f"{number(row.reached if row.reached is not None else row.count)} · "
            f"{money(row.amount)}",
            note=f"→ {_percent(row.conversion)}" if row.conversion is not None else "",
            css=row.category.value if row.category.value != "open" else "",
        )
        for row in report.states
    ]
    chain = [
        FunnelBar(
            label=_(STAGES[stage.stage]),
            value=stage.count,
            text=number(stage.count),
            note=f"→ {_percent(stage.percent)}" if stage.percent is not None else "",
        )
        for stage in report.conversion
    ]
    return render(
        staff,
        "pages/funnel.html",
        section="analytics",
        report=report,
        error=error,
        date_from=first,
        date_to=last,
        kinds=kinds,
        kind_id=report.kind_id,
        employees=employees,
        responsible_id=responsible_id,
        chart=funnel_svg(bars, _("Sales funnel")),
        chain_chart=funnel_svg(chain, _("Leads to paid orders")),
        stages=STAGES,
        percent=_percent,
    )


def _period(value: str | None, today: date) -> date:
    try:
        return parse_period(value) if value else today.replace(day=1)
    except ValidationFailed:
        return today.replace(day=1)


@router.get("/analytics/plan")
async def plan(request: Request, staff: StaffDep, saved: str = "") -> Response:
    return await _plan_page(staff, request.query_params.get("period"), saved=bool(saved))


async def _plan_page(staff, period: str | None, *, saved=False, errors=None, status_code=200):
    _ = staff._
    month = _period(period, _today(staff))
    mine = None if staff.is_admin else staff.employee.id
    report = await plan_vs_actual(
        staff.session, period=month, employee_id=mine, timezone=staff.ctx.timezone
    )
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    plans, _n = await list_plans(staff.session, period_from=month, period_to=month)
    planned = {p.employee_id: p.amount for p in plans if p.product_group_id is None}
    env = environment(staff.lang)
    money = env.filters["money"]
    rows = [r for r in report.rows if r.employee_id is not None or r.actual or r.paid]
    bars = [
        PlanBar(
            label=r.employee_name or _("No responsible"),
            plan=float(r.plan),
            actual=float(r.actual),
            text=_(
                "{actual} of {plan} · {percent}",
                actual=money(r.actual),
                plan=money(r.plan),
                percent=_percent(r.percent),
            ),
        )
        for r in rows
    ]
    return render(
        staff,
        "pages/plan.html",
        status_code=status_code,
        section="analytics",
        notice=_("Saved.") if saved else "",
        month=month,
        previous=(month - timedelta(days=1)).replace(day=1),
        following=next_month(month),
        report=report,
        rows=rows,
        chart=plan_svg(bars, _("Plan vs actual")) if bars else "",
        employees=employees if staff.is_admin else [],
        planned=planned,
        errors=errors or {},
        percent=_percent,
        width_class=lambda p: "w" + str(min(100, int((p or 0) // 10 * 10))),
    )


@router.post("/analytics/plan")
async def save_plan(request: Request, staff: AdminDep) -> Response:
    """The month's plan per employee and for the firm (an empty field removes a row)."""
    form = await request.form()
    period = str(form.get("period", ""))[:7]
    try:
        month = parse_period(period)
        employees, _total = await list_employees(staff.session, limit=500, active=True)
        rows = []
        for key, employee_id in [("firm", None)] + [(f"e{e.id}", e.id) for e in employees]:
            raw = str(form.get(f"plan_{key}", ""))[:40]
            amount = decimal_value(raw, f"plan_{key}", required=False)
            if amount is not None and amount < 0:
                raise ValidationFailed(N_("The plan must be zero or more"), field=f"plan_{key}")
            rows.append({"period": month, "employee_id": employee_id, "amount": amount})
        async with staff.attempt():
            await set_plans(staff.session, rows=rows)
    except ValidationFailed as exc:
        return await _plan_page(
            staff, period, errors={exc.field or "period": staff._(exc.message)}, status_code=422
        )
    return RedirectResponse(f"/office/analytics/plan?period={month:%Y-%m}&saved=1", status_code=303)
