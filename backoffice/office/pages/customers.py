"""Customers: the list and the customer card (contacts, consents, timeline with quick
add, tasks, orders, invoices, writing from a template, editing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.context import Staff
from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pager import PER_PAGE, Pager, page_number
from backoffice.office.pages.crm_inputs import (
    flag,
    items,
    object_id,
    optional_id,
    payload,
    text,
)
from backoffice.office.pages.leads import EVENT_KINDS, SOURCES
from backoffice.office.pictograms import pictogram
from backoffice.office.templating import render
from crm_core.context import now
from crm_core.customers.persons import (
    create_contact_person,
    delete_contact_person,
    list_contact_persons,
    update_contact_person,
)
from crm_core.customers.service import (
    get_customer,
    list_customers,
    own_contacts,
    update_customer,
)
from crm_core.customers.timeline import customer_events, customer_invoices, customer_orders
from crm_core.employees.service import list_employees
from crm_core.errors import Conflict, ValidationFailed
from crm_core.events.service import create_event
from crm_core.models import Channel, ContactKind, CustomerKind, TemplateKind
from crm_core.orders.indicators import indicator_of, paid_percent, shipped_percent
from crm_core.tasks.service import list_tasks
from messaging.templates import list_templates

router = APIRouter()

KINDS = {CustomerKind.PERSON: N_("Person"), CustomerKind.COMPANY: N_("Company")}
CHANNELS = {Channel.EMAIL: N_("Email"), Channel.SMS: N_("SMS"), Channel.TELEGRAM: N_("Telegram")}
QUICK_KINDS = ("call", "meeting", "email", "sms", "telegram", "other")
TEMPLATE_CHANNEL = {
    TemplateKind.LETTER: Channel.EMAIL,
    TemplateKind.OFFER: Channel.EMAIL,
    TemplateKind.CONTRACT: Channel.EMAIL,
    TemplateKind.SMS: Channel.SMS,
    TemplateKind.TELEGRAM: Channel.TELEGRAM,
}
EDIT_FIELDS = ("name", "kind", "legal_name", "inn", "phones", "emails", "tags", "responsible_id")


def _who(staff: Staff, query) -> tuple[str, int | None]:
    who = query.get("who") or ("all" if staff.is_admin else "my")
    who = who if who in ("my", "all") else "my"
    return who, staff.employee.id if who == "my" else None


async def _employees(staff: Staff):
    rows, _total = await list_employees(staff.session, limit=500, active=True)
    return rows


@router.get("/customers")
async def customers_list(request: Request, staff: StaffDep) -> Response:
    query = request.query_params
    who, responsible_id = _who(staff, query)
    # PostgreSQL text never holds NUL: a "%00" in the address would be a 500.
    q = (query.get("q") or "").replace("\x00", "").strip()[:200]
    tags_text = (query.get("tags") or "").replace("\x00", "").strip()[:500]
    try:
        tags = items(tags_text)[:10]
        offset = (page_number(query) - 1) * PER_PAGE
        rows, total = await list_customers(
            staff.session,
            q=q or None,
            tags=tags,
            responsible_id=responsible_id,
            limit=PER_PAGE,
            offset=offset,
        )
        error = ""
    except ValidationFailed as exc:  # e.g. a tag longer than a tag can be
        rows, total, error = [], 0, str(exc)
    employees = await _employees(staff)
    return render(
        staff,
        "pages/customers.html",
        section="customers",
        customers=rows,
        pager=Pager.of(query, total),
        who=who,
        values={"q": q, "tags": tags_text},
        error=error,
        kinds=KINDS,
        employee_names={e.id: e.name for e in employees},
        contacts=lambda c: [p.value for p in own_contacts(c) if p.kind != ContactKind.TELEGRAM],
    )


def _parse_when(value: str, staff: Staff) -> datetime | None:
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(staff._("Give the date and time"), field="starts_at") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=staff.tz)
    if not 1900 < local.year < 2200:
        raise ValidationFailed(staff._("Give the date and time"), field="starts_at")
    return local


async def _card(
    staff: Staff,
    customer_id: int,
    *,
    errors=None,
    values=None,
    status_code=200,
    notice="",
) -> Response:
    session = staff.session
    customer = await get_customer(session, customer_id)
    persons = await list_contact_persons(session, customer_id)
    events, events_total = await customer_events(session, customer_id, limit=50)
    tasks, tasks_total = await list_tasks(session, customer_id=customer_id, limit=20)
    orders, orders_total = await customer_orders(session, customer_id, limit=20)
    invoices, invoices_total = await customer_invoices(session, customer_id, limit=20)
    templates, _total = await list_templates(session, limit=500)
    employees = await _employees(staff)
    at = now(session)
    _ = staff._
    order_rows = []
    for order in orders:
        indicator = indicator_of(order, at).value
        shipped, paid = shipped_percent(order), paid_percent(order)
        order_rows.append(
            {
                "order": order,
                "indicator": indicator,
                "shipped_svg": pictogram(shipped, indicator, _("Shipped {n} %", n=shipped)),
                "paid_svg": pictogram(paid, indicator, _("Paid {n} %", n=paid)),
            }
        )
    by_channel: dict[str, list] = {c.value: [] for c in Channel}
    for template in templates:
        channel = TEMPLATE_CHANNEL.get(template.kind)
        if channel is not None:
            by_channel[channel.value].append(template)
    consents = {c.channel: c for c in customer.consents}
    return render(
        staff,
        "pages/customer.html",
        status_code=status_code,
        section="customers",
        notice=notice,
        customer=customer,
        phones=[c.value for c in own_contacts(customer, ContactKind.PHONE)],
        emails=[c.value for c in own_contacts(customer, ContactKind.EMAIL)],
        telegram=[c.value for c in own_contacts(customer, ContactKind.TELEGRAM)],
        persons=persons,
        consents=consents,
        channels=CHANNELS,
        kinds=KINDS,
        sources=SOURCES,
        events=events,
        events_total=events_total,
        event_kinds=EVENT_KINDS,
        quick_kinds=QUICK_KINDS,
        tasks=tasks,
        tasks_total=tasks_total,
        orders=order_rows,
        orders_total=orders_total,
        invoices=invoices,
        invoices_total=invoices_total,
        templates=by_channel,
        employees=employees,
        employee_names={e.id: e.name for e in employees},
        now_local=at.astimezone(staff.tz),
        errors=errors or {},
        values=values or {},
    )


@router.get("/customers/{customer_id}")
async def customer_card(customer_id: str, staff: StaffDep, done: str = "") -> Response:
    notices = {
        "saved": staff._("Saved."),
        "added": staff._("Added to the timeline."),
        "person": staff._("The contact person is saved."),
        "person_removed": staff._("The contact person is removed."),
        "merged": staff._(
            "This phone or email belongs to this customer: the request is added to their "
            "timeline instead of a new lead."
        ),
    }
    return await _card(staff, object_id(customer_id, "Customer"), notice=notices.get(done, ""))


@router.post("/customers/{customer_id}")
async def edit_customer(request: Request, customer_id: str, staff: StaffDep) -> Response:
    cid = object_id(customer_id, "Customer")
    data = await payload(request)
    values: dict[str, Any] = {key: text(data, key) for key in EDIT_FIELDS}
    granted = {c.value: flag(data, f"consent_{c.value}") for c in Channel}
    values["consents"] = granted
    try:
        async with staff.attempt():
            await update_customer(
                staff.session,
                cid,
                name=values["name"],
                kind=values["kind"] or CustomerKind.PERSON,
                legal_name=values["legal_name"] or None,
                inn=values["inn"] or None,
                phones=items(values["phones"]),
                emails=items(values["emails"]),
                tags=items(values["tags"]),
                responsible_id=optional_id(values["responsible_id"], "responsible_id"),
                consents=granted,
                consent_source=staff._("back office: {name}", name=staff.employee.name),
            )
    except (ValidationFailed, Conflict) as exc:
        errors = {exc.field or "name": str(exc)}
        return await _card(staff, cid, errors=errors, values=values, status_code=422)
    return RedirectResponse(f"/office/customers/{cid}?done=saved", status_code=303)


@router.post("/customers/{customer_id}/events")
async def quick_add(request: Request, customer_id: str, staff: StaffDep) -> Response:
    """A call, meeting, letter... put on the customer's timeline in one step."""
    cid = object_id(customer_id, "Customer")
    data = await payload(request)
    values = {
        key: text(data, key) for key in ("event_kind", "subject", "body", "event_state", "when")
    }
    try:
        async with staff.attempt():
            if values["event_kind"] not in QUICK_KINDS:
                raise ValidationFailed(staff._("Pick a kind"), field="event_kind")
            state = values["event_state"] if values["event_state"] == "planned" else "completed"
            await create_event(
                staff.session,
                kind=values["event_kind"],
                subject=values["subject"],
                body=values["body"] or None,
                state=state,
                starts_at=_parse_when(values["when"], staff),
                customer_id=cid,
            )
    except ValidationFailed as exc:
        field = {"kind": "event_kind", "state": "event_state"}.get(exc.field, exc.field)
        errors = {field or "subject": str(exc)}
        return await _card(staff, cid, errors=errors, values=values, status_code=422)
    return RedirectResponse(f"/office/customers/{cid}?done=added#timeline", status_code=303)


@router.post("/customers/{customer_id}/write")
async def write(request: Request, customer_id: str, staff: StaffDep) -> Response:
    """Send one email, SMS or Telegram message from a template; the result lands on
    the timeline as an event with its delivery status."""
    from backoffice.office.pages.customer_write import send_from_template

    cid = object_id(customer_id, "Customer")
    data = await payload(request)
    values = {"template": text(data, "template")}
    try:
        async with staff.attempt():
            await send_from_template(staff, cid, values["template"])
    except ValidationFailed as exc:
        errors = {"template": str(exc)}
        return await _card(staff, cid, errors=errors, values=values, status_code=422)
    return RedirectResponse(f"/office/customers/{cid}?done=added#timeline", status_code=303)


PERSON_FIELDS = ("name", "position", "phones", "emails", "comment")
# The core names a bad contact by its kind ("phone", "email"); the form by its list.
PERSON_ERROR_FIELD = {"phone": "phones", "email": "emails"}


def _person_values(data: dict[str, Any], prefix: str) -> dict[str, str]:
    return {f"{prefix}{key}": text(data, key) for key in PERSON_FIELDS}


async def _person_refused(
    staff: Staff, cid: int, prefix: str, values: dict[str, str], exc: ValidationFailed
) -> Response:
    field = PERSON_ERROR_FIELD.get(exc.field or "", exc.field or "name")
    if field not in PERSON_FIELDS:
        field = "name"
    errors = {f"{prefix}{field}": staff._(exc.message)}
    return await _card(staff, cid, errors=errors, values=values, status_code=422)


def _person_fields(values: dict[str, str], prefix: str) -> dict:
    """A contact-person form's values as the core service's keywords."""
    return {
        "name": values[prefix + "name"],
        "position": values[prefix + "position"] or None,
        "comment": values[prefix + "comment"] or None,
        "phones": items(values[prefix + "phones"]),
        "emails": items(values[prefix + "emails"]),
    }


@router.post("/customers/{customer_id}/persons")
async def add_person(request: Request, customer_id: str, staff: StaffDep) -> Response:
    """A contact person of the customer, with their own phones and emails."""
    cid = object_id(customer_id, "Customer")
    data = await payload(request)
    prefix = "person_new_"
    values = _person_values(data, prefix)
    try:
        async with staff.attempt():
            await create_contact_person(staff.session, cid, **_person_fields(values, prefix))
    except ValidationFailed as exc:
        return await _person_refused(staff, cid, prefix, values, exc)
    return RedirectResponse(f"/office/customers/{cid}?done=person#persons", status_code=303)


@router.post("/customers/{customer_id}/persons/{person_id}")
async def edit_person(
    request: Request, customer_id: str, person_id: str, staff: StaffDep
) -> Response:
    cid = object_id(customer_id, "Customer")
    pid = object_id(person_id, "Contact person")
    data = await payload(request)
    prefix = f"person_{pid}_"
    values = _person_values(data, prefix)
    try:
        async with staff.attempt():
            await update_contact_person(staff.session, cid, pid, **_person_fields(values, prefix))
    except ValidationFailed as exc:
        return await _person_refused(staff, cid, prefix, values, exc)
    return RedirectResponse(f"/office/customers/{cid}?done=person#persons", status_code=303)


@router.post("/customers/{customer_id}/persons/{person_id}/delete")
async def remove_person(customer_id: str, person_id: str, staff: StaffDep) -> Response:
    cid = object_id(customer_id, "Customer")
    pid = object_id(person_id, "Contact person")
    await delete_contact_person(staff.session, cid, pid)
    return RedirectResponse(f"/office/customers/{cid}?done=person_removed#persons", status_code=303)
