"""Leads: the list, the kanban board, the lead card with its result panel, and the
lead states editor (admin)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import escape

from backoffice.office.context import Staff
from backoffice.office.deps import AdminDep, StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pager import PER_PAGE, Pager, page_number, with_query
from backoffice.office.pages.crm_inputs import (
    back_to,
    flag,
    items,
    object_id,
    optional_id,
    payload,
    text,
    wants_json,
)
from backoffice.office.templating import markup, render
from crm_core.context import now
from crm_core.customers.timeline import lead_events
from crm_core.employees.service import list_employees
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.leads.board import lead_board
from crm_core.leads.service import (
    convert_lead,
    get_lead,
    hide_lead,
    intake_lead,
    list_leads,
    reopen_lead,
    update_lead,
)
from crm_core.leads.states import (
    create_lead_state,
    list_hide_reasons,
    list_lead_states,
    reorder_lead_states,
    update_lead_state,
)
from crm_core.models import ContactKind, Lead, LeadResult, LeadSource

router = APIRouter()

SOURCES = {
    LeadSource.WEB_FORM: N_("Web form"),
    LeadSource.TELEGRAM: N_("Telegram"),
    LeadSource.STORE: N_("Online store"),
    LeadSource.MANUAL: N_("Entered by hand"),
    LeadSource.IMPORT: N_("Import"),
    LeadSource.API: N_("API"),
}
RESULTS = {
    LeadResult.OPEN: N_("Open"),
    LeadResult.CONVERTED: N_("Converted"),
    LeadResult.HIDDEN: N_("Hidden"),
}
EVENT_KINDS = {
    "call": N_("Call"),
    "meeting": N_("Meeting"),
    "email": N_("Letter"),
    "sms": N_("SMS"),
    "telegram": N_("Telegram message"),
    "web_form": N_("Form answers"),
    "other": N_("Other"),
}
SORTS = ("-created", "created", "name", "-name")
EDIT_TEXTS = ("name", "company", "legal_name", "comment")


def contacts_of(lead: Lead, kind: ContactKind) -> list[str]:
    return [c.value for c in lead.contacts if c.kind == kind]


def age_label(staff: Staff, created_at: datetime) -> str:
    """How long a lead has waited, in the largest whole unit."""
    seconds = max(0, int((now(staff.session) - created_at).total_seconds()))
    _ = staff._
    if seconds < 3600:
        return _("{n} min", n=seconds // 60)
    if seconds < 86400:
        return _("{n} h", n=seconds // 3600)
    return _("{n} d", n=seconds // 86400)


def _who(staff: Staff, query) -> tuple[str, int | None]:
    """``my`` (a manager's default) or ``all``; a picked responsible wins."""
    who = query.get("who") or ("all" if staff.is_admin else "my")
    who = who if who in ("my", "all") else "my"
    if _picked(query):
        return "all", int(query["responsible"])
    return who, staff.employee.id if who == "my" else None


def _picked(query) -> bool:
    picked = query.get("responsible", "")
    return picked.isdigit() and 0 < int(picked) < 2**31


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_of(day: date, staff: Staff) -> datetime:
    return datetime.combine(day, time(0), tzinfo=staff.tz)


async def _employees(staff: Staff):
    rows, _total = await list_employees(staff.session, limit=500, active=True)
    return rows


@router.get("/leads")
async def leads_list(request: Request, staff: StaffDep) -> Response:
    query = request.query_params
    who, responsible_id = _who(staff, query)
    states = await list_lead_states(staff.session)
    state_ids = {str(s.id) for s in states}
    state = query.get("state", "")
    state = state if state in state_ids else ""
    source = query.get("source", "")
    source = source if source in {s.value for s in LeadSource} else ""
    result = query.get("result", "open")
    result = result if result in ("open", "converted", "hidden", "all") else "open"
    sort = query.get("sort", "-created")
    sort = sort if sort in SORTS else "-created"
    day_from, day_to = _day(query.get("from")), _day(query.get("to"))
    q = (query.get("q") or "").strip()[:200]
    filters: dict[str, Any] = dict(
        state=int(state) if state else None,
        result=result,
        q=q or None,
        source=source or None,
        responsible_id=responsible_id,
        created_from=_start_of(day_from, staff) if day_from else None,
        created_to=_start_of(day_to + timedelta(days=1), staff) if day_to else None,
        sort=sort,
    )
    offset = (page_number(query) - 1) * PER_PAGE
    rows, total = await list_leads(staff.session, limit=PER_PAGE, offset=offset, **filters)
    pager = Pager.of(query, total)
    return render(
        staff,
        "pages/leads.html",
        section="leads",
        leads=rows,
        pager=pager,
        states=states,
        employees=await _employees(staff),
        sources=SOURCES,
        results=RESULTS,
        who=who,
        picked_responsible=responsible_id if _picked(query) else None,
        values={
            "q": q,
            "state": state,
            "source": source,
            "result": result,
            "from": day_from.isoformat() if day_from else "",
            "to": day_to.isoformat() if day_to else "",
        },
        sort=sort,
        query_url=lambda **changes: with_query(query, **changes),
        phones=lambda lead: contacts_of(lead, ContactKind.PHONE),
        emails=lambda lead: contacts_of(lead, ContactKind.EMAIL),
    )


@router.get("/leads/board")
async def leads_board(request: Request, staff: StaffDep) -> Response:
    who, responsible_id = _who(staff, request.query_params)
    columns = await lead_board(staff.session, responsible_id=responsible_id)
    return render(
        staff,
        "pages/leads_board.html",
        section="leads",
        columns=columns,
        move_options=_move_options([c.state for c in columns]),
        sources={key: staff._(label) for key, label in SOURCES.items()},
        who=who,
        age=lambda lead: age_label(staff, lead.created_at),
        phones=lambda lead: contacts_of(lead, ContactKind.PHONE),
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


def _move_options(states: list) -> dict[int, Any]:
    """Per column, the ``<option>`` list of every card's "Move to" select with that
    column selected: built once, not once per card (250 cards × N states)."""
    out = {}
    for current in states:
        out[current.id] = markup(
            "".join(
                f'<option value="{s.id}"{" selected" if s.id == current.id else ""}>'
                f"{escape(s.name)}</option>"
                for s in states
            )
        )
    return out


# --- lead states (admin) ------------------------------------------------------------


async def _states_page(staff: Staff, *, errors=None, values=None, status_code=200) -> Response:
    return render(
        staff,
        "pages/leads_states.html",
        status_code=status_code,
        section="leads",
        states=await list_lead_states(staff.session),
        errors=errors or {},
        values=values or {},
    )


@router.get("/leads/states")
async def states_editor(staff: AdminDep) -> Response:
    return await _states_page(staff)


@router.post("/leads/states")
async def add_state(request: Request, staff: AdminDep) -> Response:
    data = await payload(request)
    values = {"code": text(data, "code")[:50], "name": text(data, "name")[:100]}
    try:
        async with staff.attempt():
            await create_lead_state(staff.session, code=values["code"], name=values["name"])
    except (ValidationFailed, Conflict) as exc:
        errors = {exc.field or "name": str(exc)}
        return await _states_page(staff, errors=errors, values=values, status_code=422)
    return RedirectResponse("/office/leads/states", status_code=303)


@router.post("/leads/states/{state_id}")
async def rename_state(request: Request, state_id: str, staff: AdminDep) -> Response:
    sid = object_id(state_id, "Lead state")
    data = await payload(request)
    try:
        async with staff.attempt():
            await update_lead_state(staff.session, sid, name=text(data, "name")[:1000])
    except ValidationFailed as exc:
        return await _states_page(staff, errors={f"name-{sid}": str(exc)}, status_code=422)
    return RedirectResponse("/office/leads/states", status_code=303)


@router.post("/leads/states/{state_id}/move")
async def move_state(request: Request, state_id: str, staff: AdminDep) -> Response:
    """Move a column one place left (``up``) or right (``down``)."""
    sid = object_id(state_id, "Lead state")
    data = await payload(request)
    ids = [s.id for s in await list_lead_states(staff.session)]
    if sid not in ids:
        raise NotFound(staff._("This state is not on the board"))
    at = ids.index(sid)
    to = at - 1 if text(data, "direction") == "up" else at + 1
    if 0 <= to < len(ids):
        ids[at], ids[to] = ids[to], ids[at]
        await reorder_lead_states(staff.session, ids)
    return RedirectResponse("/office/leads/states", status_code=303)


# --- a new lead ----------------------------------------------------------------------

NEW_FIELDS = ("name", "phone", "email", "company", "source", "comment", "responsible_id")
NEW_FIELD_OF = {"phones": "phone", "emails": "email", "telegram_id": "phone"}


async def _new_page(staff: Staff, *, errors=None, values=None, status_code=200) -> Response:
    return render(
        staff,
        "pages/lead_new.html",
        status_code=status_code,
        section="leads",
        sources=SOURCES,
        employees=await _employees(staff),
        errors=errors or {},
        values=values or {},
    )


@router.get("/leads/new")
async def new_lead_form(staff: StaffDep) -> Response:
    return await _new_page(staff)


@router.post("/leads")
async def add_lead(request: Request, staff: StaffDep) -> Response:
    """A lead a manager types in, through the core's intake: contacts already known
    merge into their open lead (or their customer), and the manager lands there."""
    data = await payload(request)
    values = {key: text(data, key) for key in NEW_FIELDS}
    values["source"] = values["source"] or LeadSource.MANUAL.value
    try:
        async with staff.attempt():
            if values["source"] not in SOURCES:
                raise ValidationFailed(staff._("Pick a value from the list"), field="source")
            result = await intake_lead(
                staff.session,
                name=values["name"] or None,
                phones=[values["phone"]],
                emails=[values["email"]],
                company=values["company"] or None,
                source=values["source"],
                comment=values["comment"] or None,
                responsible_id=optional_id(values["responsible_id"], "responsible_id"),
            )
    except ValidationFailed as exc:
        field = NEW_FIELD_OF.get(exc.field or "", exc.field or "name")
        field = field if field in NEW_FIELDS else "name"
        return await _new_page(
            staff, errors={field: staff._(exc.message)}, values=values, status_code=422
        )
    if result.lead is None:  # the contacts are a customer's: the request is on their card
        return RedirectResponse(
            f"/office/customers/{result.customer.id}?done=merged#timeline", status_code=303
        )
    query = "?merged=1" if result.merged else "?created=1"
    return RedirectResponse(f"/office/leads/{result.lead.id}{query}", status_code=303)


# --- one lead -----------------------------------------------------------------------


async def _lead_page(
    staff: Staff, lead_id: int, *, errors=None, values=None, status_code=200, notice=""
) -> Response:
    lead = await get_lead(staff.session, lead_id)
    events, events_total = await lead_events(staff.session, lead_id, limit=50)
    employees = await _employees(staff)
    return render(
        staff,
        "pages/lead.html",
        status_code=status_code,
        section="leads",
        lead=lead,
        phones=contacts_of(lead, ContactKind.PHONE),
        emails=contacts_of(lead, ContactKind.EMAIL),
        telegram=contacts_of(lead, ContactKind.TELEGRAM),
        events=events,
        events_total=events_total,
        event_kinds=EVENT_KINDS,
        states=await list_lead_states(staff.session),
        reasons=await list_hide_reasons(staff.session),
        employees=employees,
        employee_names={e.id: e.name for e in employees},
        sources=SOURCES,
        results=RESULTS,
        errors=errors or {},
        values=values or {},
        notice=notice,
    )


@router.get("/leads/{lead_id}")
async def lead_card(
    lead_id: str, staff: StaffDep, saved: str = "", created: str = "", merged: str = ""
) -> Response:
    notice = staff._("Saved.") if saved else ""
    if created:
        notice = staff._("The lead is added.")
    if merged:
        notice = staff._(
            "A lead with this phone or email was already open: what you entered is added to it."
        )
    return await _lead_page(staff, object_id(lead_id, "Lead"), notice=notice)


@router.post("/leads/{lead_id}")
async def edit_lead(request: Request, lead_id: str, staff: StaffDep) -> Response:
    lid = object_id(lead_id, "Lead")
    data = await payload(request)
    values = {key: text(data, key) for key in (*EDIT_TEXTS, "phones", "emails", "source")}
    values["responsible_id"] = text(data, "responsible_id")
    changes: dict[str, Any] = {key: values[key] for key in EDIT_TEXTS}
    try:
        async with staff.attempt():
            changes["phones"] = items(values["phones"])
            changes["emails"] = items(values["emails"])
            changes["responsible_id"] = optional_id(values["responsible_id"], "responsible_id")
            if values["source"]:
                changes["source"] = values["source"]
            await update_lead(staff.session, lid, **changes)
    except ValidationFailed as exc:
        return await _lead_page(
            staff, lid, errors={exc.field or "name": str(exc)}, values=values, status_code=422
        )
    return RedirectResponse(f"/office/leads/{lid}?saved=1", status_code=303)


@router.post("/leads/{lead_id}/state")
async def move_lead(request: Request, lead_id: str, staff: StaffDep) -> Response:
    """A card dropped on another column (fetch, JSON) or moved with its form."""
    lid = object_id(lead_id, "Lead")
    data = await payload(request)
    state_id = optional_id(data.get("state_id"), "state_id")
    if state_id is None:
        raise ValidationFailed(staff._("Pick a state"), field="state_id")
    lead = await update_lead(staff.session, lid, state=state_id)
    if wants_json(request):
        state = lead.state
        return JSONResponse(
            {"id": lead.id, "state": {"id": state.id, "code": state.code, "name": state.name}}
        )
    return RedirectResponse(back_to(data.get("back"), "/office/leads/board"), status_code=303)


@router.post("/leads/{lead_id}/convert")
async def convert(request: Request, lead_id: str, staff: StaffDep) -> Response:
    lid = object_id(lead_id, "Lead")
    data = await payload(request)
    customer, order = await convert_lead(staff.session, lid, create_order=flag(data, "with_order"))
    target = f"/office/orders/{order.id}" if order else f"/office/customers/{customer.id}"
    if wants_json(request):
        return JSONResponse(
            {"customer_id": customer.id, "order_id": order.id if order else None, "url": target}
        )
    return RedirectResponse(target, status_code=303)


@router.post("/leads/{lead_id}/hide")
async def hide(request: Request, lead_id: str, staff: StaffDep) -> Response:
    lid = object_id(lead_id, "Lead")
    data = await payload(request)
    values = {"reason": text(data, "reason"), "hide_comment": text(data, "comment")}
    try:
        async with staff.attempt():
            reason = optional_id(values["reason"], "reason")
            if reason is None:
                raise ValidationFailed(staff._("Pick a reason"), field="reason")
            await hide_lead(staff.session, lid, reason=reason, comment=values["hide_comment"])
    except ValidationFailed as exc:
        errors = {"reason" if exc.field != "comment" else "hide_comment": str(exc)}
        return await _lead_page(staff, lid, errors=errors, values=values, status_code=422)
    return RedirectResponse(f"/office/leads/{lid}", status_code=303)


@router.post("/leads/{lead_id}/reopen")
async def reopen(lead_id: str, staff: StaffDep) -> Response:
    lid = object_id(lead_id, "Lead")
    await reopen_lead(staff.session, lid)
    return RedirectResponse(f"/office/leads/{lid}", status_code=303)
