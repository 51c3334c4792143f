"""The orders journal (``/office/orders``) with shipment and payment pictograms, and the
new-order form. The order card and its actions are in ``order_card.py``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pager import Pager, with_query
from backoffice.office.pages.typed_input import local_datetime, optional_id, query_day, query_id
from backoffice.office.pictograms import pictogram
from backoffice.office.templating import render
from crm_core.analytics.periods import day_start
from crm_core.catalog.service import list_price_kinds, list_products, price_of
from crm_core.context import now
from crm_core.customers.service import get_customer, list_customers
from crm_core.employees.service import list_employees
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import OrderIndicator
from crm_core.orders.journal import COUNT_CAP, JOURNAL_SORTS, journal_names
from crm_core.orders.kinds import list_order_kinds
from crm_core.orders.service import create_order, indicator_of, list_orders
from crm_core.orders.service import paid_percent as paid_of
from crm_core.orders.service import shipped_percent as shipped_of

router = APIRouter()

INDICATORS = {
    "on_time": N_("On time"),
    "overdue": N_("Overdue"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
SORTS = JOURNAL_SORTS


def pictograms(staff, order, at) -> dict[str, Any]:
    """The indicator and the two pictograms of one order, with their text alternatives."""
    _ = staff._
    indicator = indicator_of(order, at).value
    shipped, paid = shipped_of(order), paid_of(order)
    shipped_label, paid_label = _("Shipped {n} %", n=shipped), _("Paid {n} %", n=paid)
    return {
        "indicator": indicator,
        "shipped": shipped,
        "paid": paid,
        "shipped_label": shipped_label,
        "paid_label": paid_label,
        "shipped_svg": pictogram(shipped, indicator, shipped_label),
        "paid_svg": pictogram(paid, indicator, paid_label),
    }


def _responsible(staff, value: str | None) -> tuple[str, int | None]:
    """The responsible filter: managers see their own orders unless they ask for all."""
    if value == "all":
        return "all", None
    chosen = query_id(value)
    if chosen is not None:
        return str(chosen), chosen
    if staff.is_admin:
        return "all", None
    return str(staff.employee.id), staff.employee.id


@router.get("/orders")
async def journal(request: Request, staff: StaffDep) -> Response:
    query = request.query_params
    kinds = await list_order_kinds(staff.session)
    kind_id = query_id(query.get("kind"))
    kind = next((k for k in kinds if k.id == kind_id), None)
    states = kind.states if kind else [s for k in kinds for s in k.states]
    state_id = query_id(query.get("state"))
    if state_id is not None and state_id not in {s.id for s in states}:
        state_id = None
    indicator = query.get("indicator") if query.get("indicator") in INDICATORS else None
    responsible, responsible_id = _responsible(staff, query.get("responsible"))
    date_from, date_to = query_day(query.get("from")), query_day(query.get("to"))
    sort = query.get("sort") if query.get("sort") in SORTS else "-date"
    tz = str(staff.tz)
    page_number = Pager.of(query, 0)
    items, total = await list_orders(
        staff.session,
        kind_id=kind.id if kind else None,
        state_id=state_id,
        indicator=OrderIndicator(indicator) if indicator else None,
        responsible_id=responsible_id,
        date_from=day_start(date_from, tz) if date_from else None,
        date_to=day_start(date_to + timedelta(days=1), tz) if date_to else None,
        q=(query.get("q") or "").replace("\x00", "")[:100] or None,  # no NUL in PG text
        limit=page_number.per_page,
        # Past the capped count there is nothing to page to: a hostile ?page= cannot
        # make the database step over a million rows.
        offset=min(page_number.offset, COUNT_CAP),
        newest_first=sort != "date",
        sort=sort,
    )
    customers, employees = await journal_names(staff.session, items)
    staff_list, _total = await list_employees(staff.session, limit=500, active=True)
    at = now(staff.session)
    kind_names = {k.id: k.name for k in kinds}
    rows = [
        {
            "order": o,
            "customer": customers.get(o.customer_id, ""),
            "responsible": employees.get(o.responsible_id, "") if o.responsible_id else "",
            "kind": kind_names.get(o.kind_id, ""),
            **pictograms(staff, o, at),
        }
        for o in items
    ]
    return render(
        staff,
        "pages/orders.html",
        section="orders",
        rows=rows,
        pager=Pager.of(query, total),
        capped=total >= COUNT_CAP,
        kinds=kinds,
        kind_id=kind.id if kind else None,
        states=states,
        state_id=state_id,
        indicators=INDICATORS,
        indicator=indicator or "",
        employees=staff_list,
        responsible=responsible,
        date_from=date_from,
        date_to=date_to,
        q=query.get("q", ""),
        sort=sort,
        query_url=lambda **changes: with_query(query, **changes),
    )


async def _new_page(staff, *, values: dict, errors: dict, choices=(), status_code=200):
    kinds = await list_order_kinds(staff.session, active=True)
    price_kinds = await list_price_kinds(staff.session)
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    return render(
        staff,
        "pages/order_new.html",
        status_code=status_code,
        section="orders",
        kinds=kinds,
        price_kinds=price_kinds,
        employees=employees,
        values=values,
        errors=errors,
        choices=choices,
    )


@router.get("/orders/new")
async def new_order(staff: StaffDep, customer_id: str = "") -> Response:
    values: dict[str, Any] = {"responsible_id": str(staff.employee.id)}
    chosen = query_id(customer_id)
    if chosen is not None:
        customer = await get_customer(staff.session, chosen)
        values.update(customer_id=str(customer.id), customer=customer.name)
    return await _new_page(staff, values=values, errors={})


@router.post("/orders/new")
async def create(
    staff: StaffDep,
    customer_id: str = Form("", max_length=20),
    customer: str = Form("", max_length=300),
    kind_id: str = Form("", max_length=20),
    price_kind_id: str = Form("", max_length=20),
    responsible_id: str = Form("", max_length=20),
    due_at: str = Form("", max_length=40),
    comment: str = Form("", max_length=10000),
) -> Response:
    _ = staff._
    values = {
        "customer_id": customer_id,
        "customer": customer,
        "kind_id": kind_id,
        "price_kind_id": price_kind_id,
        "responsible_id": responsible_id,
        "due_at": due_at,
        "comment": comment,
    }
    try:
        chosen = optional_id(customer_id, "customer")
        if chosen is None:
            text = customer.strip()
            if not text:
                raise ValidationFailed(N_("Pick the customer"), field="customer")
            found, _total = await list_customers(staff.session, q=text, limit=20)
            if len(found) != 1:
                message = (
                    N_("Several customers match: pick one")
                    if found
                    else N_("No customer matches: check the name or phone")
                )
                return await _new_page(
                    staff,
                    values=values,
                    errors={"customer": _(message)},
                    choices=found,
                    status_code=422,
                )
            chosen = found[0].id
        async with staff.attempt():
            order = await create_order(
                staff.session,
                customer_id=chosen,
                kind_id=optional_id(kind_id, "kind_id"),
                price_kind_id=optional_id(price_kind_id, "price_kind_id"),
                responsible_id=optional_id(responsible_id, "responsible_id"),
                due_at=local_datetime(due_at, staff.tz, "due_at"),
                comment=comment,
                timezone=staff.ctx.timezone,
            )
    except (ValidationFailed, Conflict) as exc:
        field = {"customer_id": "customer"}.get(exc.field or "", exc.field or "form")
        return await _new_page(
            staff, values=values, errors={field: _(exc.message)}, status_code=422
        )
    return RedirectResponse(f"/office/orders/{order.id}", status_code=303)


@router.get("/orders/customers.json")
async def customer_search(staff: StaffDep, q: str = "") -> Response:
    """Customers for the order form's search box (name, phone, email, INN)."""
    text = q.strip()[:100]
    if len(text) < 2:
        return JSONResponse({"items": []})
    found, _total = await list_customers(staff.session, q=text, limit=10)
    return JSONResponse({"items": [{"id": c.id, "name": c.name} for c in found]})


@router.get("/orders/products.json")
async def product_search(staff: StaffDep, q: str = "", price_kind_id: str = "") -> Response:
    """Active products for the order lines' search box, with the price of the kind."""
    text = q.strip()[:100]
    if not text:
        return JSONResponse({"items": []})
    found, _total = await list_products(staff.session, q=text, active=True, limit=10)
    kinds = await list_price_kinds(staff.session)
    kind_id = query_id(price_kind_id)
    kind = next((k for k in kinds if k.id == kind_id), None) or next(
        (k for k in kinds if k.is_default), None
    )
    items = []
    for p in found:
        price = price_of(p, kind) if kind else None
        items.append(
            {
                "id": p.id,
                "sku": p.sku or "",
                "name": p.name,
                "unit": p.unit,
                "price": f"{price:.2f}" if price is not None else None,
            }
        )
    return JSONResponse({"items": items})
