"""Events: create and edit at ``/office/events/new`` and ``/office/events/{id}`` (the
keyboard way to move an event), and the calendar's drag-and-drop move as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pages.typed_input import MAX_ID, local_datetime, optional_id, query_id
from backoffice.office.templating import render
from crm_core.context import now
from crm_core.customers.service import get_customer
from crm_core.employees.service import list_employees
from crm_core.errors import Conflict, ValidationFailed
from crm_core.events.service import create_event, get_event, update_event

router = APIRouter()
EventId = Annotated[int, Path(ge=1, le=MAX_ID)]

KINDS = {
    "call": N_("Call"),
    "meeting": N_("Meeting"),
    "email": N_("Letter"),
    "sms": N_("SMS"),
    "telegram": N_("Telegram message"),
    "web_form": N_("Form answers"),
    "other": N_("Other"),
}
STATES = {"planned": N_("Planned"), "completed": N_("Done"), "cancelled": N_("Cancelled")}
IMPORTANCE = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High")}
FIELDS = (
    "kind",
    "state",
    "importance",
    "subject",
    "body",
    "starts_at",
    "ends_at",
    "remind_at",
    "employee_id",
    "customer_id",
    "customer",
    "lead_id",
    "order_id",
)


def _iso(value: datetime | None, staff) -> str:
    return "" if value is None else value.astimezone(staff.tz).strftime("%Y-%m-%dT%H:%M")


def _values_of(event, staff, customer_name: str) -> dict[str, str]:
    return {
        "kind": event.kind.value,
        "state": event.state.value,
        "importance": event.importance.value,
        "subject": event.subject or "",
        "body": event.body or "",
        "starts_at": _iso(event.starts_at, staff),
        "ends_at": _iso(event.ends_at, staff),
        "remind_at": _iso(event.remind_at, staff),
        "employee_id": str(event.employee_id or ""),
        "customer_id": str(event.customer_id or ""),
        "customer": customer_name,
        "lead_id": str(event.lead_id or ""),
        "order_id": str(event.order_id or ""),
    }


async def _page(staff, *, event=None, values, errors=None, status_code=200, notice=""):
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    return render(
        staff,
        "pages/event.html",
        status_code=status_code,
        section="calendar",
        event=event,
        values=values,
        errors=errors or {},
        notice=notice,
        kinds=KINDS,
        states=STATES,
        importance=IMPORTANCE,
        employees=employees,
    )


def _changes(form: dict[str, str], staff) -> dict[str, Any]:
    """The service's fields from the form's strings (the door reads local times)."""
    tz = staff.tz
    for name, allowed in (("kind", KINDS), ("state", STATES), ("importance", IMPORTANCE)):
        if form.get(name) not in allowed:
            raise ValidationFailed(N_("Pick a value from the list"), field=name)
    starts_at = local_datetime(form.get("starts_at"), tz, "starts_at")
    if starts_at is None:
        raise ValidationFailed(N_("Enter a date and time"), field="starts_at")
    return {
        "kind": form["kind"],
        "state": form["state"],
        "importance": form["importance"],
        "subject": form.get("subject", ""),
        "body": form.get("body") or None,
        "starts_at": starts_at,
        "ends_at": local_datetime(form.get("ends_at"), tz, "ends_at"),
        "remind_at": local_datetime(form.get("remind_at"), tz, "remind_at"),
        "employee_id": optional_id(form.get("employee_id"), "employee_id") or staff.employee.id,
        "customer_id": optional_id(form.get("customer_id"), "customer_id"),
        "lead_id": optional_id(form.get("lead_id"), "lead_id"),
        "order_id": optional_id(form.get("order_id"), "order_id"),
    }


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, ""))[:20000] for name in FIELDS}


@router.get("/events/new")
async def new_event(request: Request, staff: StaffDep) -> Response:
    query = request.query_params
    start = local_datetime(query.get("start"), staff.tz, "start") if query.get("start") else None
    start = start or now(staff.session)
    values = {name: "" for name in FIELDS}
    values.update(
        kind=query.get("kind") if query.get("kind") in KINDS else "call",
        state="planned",
        importance="normal",
        starts_at=_iso(start, staff),
        employee_id=str(staff.employee.id),
    )
    for name in ("customer_id", "lead_id", "order_id"):
        found = query_id(query.get(name))
        values[name] = str(found) if found else ""
    if values["customer_id"]:
        values["customer"] = (await get_customer(staff.session, int(values["customer_id"]))).name
    return await _page(staff, values=values)


@router.post("/events/new")
async def create(request: Request, staff: StaffDep) -> Response:
    form = await _form(request)
    try:
        changes = _changes(form, staff)
        async with staff.attempt():
            event = await create_event(staff.session, **changes)
    except (ValidationFailed, Conflict) as exc:
        errors = {exc.field or "form": staff._(exc.message)}
        return await _page(staff, values=form, errors=errors, status_code=422)
    return RedirectResponse(f"/office/events/{event.id}?saved=1", status_code=303)


@router.get("/events/{event_id}")
async def show(event_id: EventId, staff: StaffDep, saved: str = "") -> Response:
    event = await get_event(staff.session, event_id)
    name = (await get_customer(staff.session, event.customer_id)).name if event.customer_id else ""
    notice = staff._("Saved.") if saved else ""
    return await _page(staff, event=event, values=_values_of(event, staff, name), notice=notice)


@router.post("/events/{event_id}")
async def save(event_id: EventId, request: Request, staff: StaffDep) -> Response:
    event = await get_event(staff.session, event_id)
    form = await _form(request)
    try:
        changes = _changes(form, staff)
        async with staff.attempt():
            await update_event(staff.session, event_id, **changes)
    except (ValidationFailed, Conflict) as exc:
        await staff.session.refresh(event)  # fresh after the rollback
        errors = {exc.field or "form": staff._(exc.message)}
        return await _page(staff, event=event, values=form, errors=errors, status_code=422)
    return RedirectResponse(f"/office/events/{event_id}?saved=1", status_code=303)


@router.post("/events/{event_id}/move")
async def move(
    event_id: EventId,
    staff: StaffDep,
    starts_at: Annotated[str, Body(embed=True, max_length=40)],
) -> Response:
    """Move an event to a new start (the calendar's drag and drop), keeping its length."""
    start = local_datetime(starts_at, staff.tz, "starts_at")
    if start is None:
        raise ValidationFailed(staff._("Enter a date and time"), field="starts_at")
    event = await get_event(staff.session, event_id)
    length = event.ends_at - event.starts_at if event.ends_at else None
    changes: dict[str, Any] = {"starts_at": start, "ends_at": start + length if length else None}
    if event.remind_at is not None:
        changes["remind_at"] = start - (event.starts_at - event.remind_at)
    async with staff.attempt():
        event = await update_event(staff.session, event_id, **changes)
    return JSONResponse(
        {
            "id": event.id,
            "starts_at": _iso(event.starts_at, staff),
            "ends_at": _iso(event.ends_at, staff),
        }
    )
