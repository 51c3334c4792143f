"""Settings (administrators only): firm requisites, employees and their Telegram
invites, API tokens, price kinds, web forms."""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.context import Staff
from backoffice.office.deps import AdminDep
from backoffice.office.i18n import N_
from backoffice.office.pages.crm_inputs import flag, items, object_id, optional_id, payload, text
from backoffice.office.templating import markup, render
from crm_core.catalog.groups import create_price_kind, list_price_kinds, update_price_kind
from crm_core.employees.invites import CODE_PREFIX, create_invite
from crm_core.employees.service import (
    create_employee,
    get_employee,
    list_employees,
    update_employee,
)
from crm_core.employees.tokens import create_api_token, list_api_tokens, revoke_api_token
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.forms.definitions import create_form, get_form, list_forms, texts_of, update_form
from crm_core.invoices.firm import FIELDS as FIRM_FIELDS
from crm_core.invoices.firm import get_firm, set_firm
from crm_core.models import ApiToken, Role

router = APIRouter()

FIRM_LABELS = {
    "name": N_("Name"),
    "inn": N_("INN"),
    "kpp": N_("KPP"),
    "address": N_("Address"),
    "bank": N_("Bank"),
    "bik": N_("BIK"),
    "account": N_("Account"),
    "corr_account": N_("Correspondent account"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "director": N_("Director"),
    "accountant": N_("Accountant"),
}
ROLES = {Role.ADMIN: N_("Administrator"), Role.MANAGER: N_("Manager")}
PURPOSES = {"lead": N_("Request"), "survey": N_("Survey"), "registration": N_("Registration")}
# What a new form may ask, picked with check boxes; the full editor is the API.
STANDARD_FIELDS = {
    "name": ("name", {"ru": "Имя", "en": "Name"}),
    "phone": ("phone", {"ru": "Телефон", "en": "Phone"}),
    "email": ("email", {"ru": "Эл. почта", "en": "Email"}),
    "message": ("textarea", {"ru": "Сообщение", "en": "Message"}),
    "date": ("date", {"ru": "Дата", "en": "Date"}),
}
BOT_PLACEHOLDER = "YOUR_BOT"


def form_links(staff: Staff, slug: str) -> tuple[str, str]:
    """The form's page URL and the one-line embed snippet."""
    url = f"{staff.ctx.public_url.rstrip('/')}/forms/{slug}"
    # Plain text: the page escapes it where it shows it for copying.
    snippet = f'<script src="{url}/embed.js" data-form="{slug}" async></script>'
    return url, snippet


async def _settings_page(
    staff: Staff, *, errors=None, values=None, status_code=200, notice="", new_token=None
) -> Response:
    session = staff.session
    employees, _total = await list_employees(session, limit=500)
    forms, _forms_total = await list_forms(session, limit=200)
    return render(
        staff,
        "pages/settings.html",
        status_code=status_code,
        section="settings",
        notice=notice,
        firm=await get_firm(session),
        firm_fields=FIRM_FIELDS,
        firm_labels=FIRM_LABELS,
        employees=employees,
        roles=ROLES,
        tokens=await list_api_tokens(session),
        new_token=new_token,
        price_kinds=await list_price_kinds(session),
        forms=forms,
        purposes=PURPOSES,
        errors=errors or {},
        values=values or {},
    )


def _refused(exc: Exception, default_field: str, prefix: str = "") -> dict[str, str]:
    return {prefix + (getattr(exc, "field", None) or default_field): str(exc)}


@router.get("/settings")
async def settings(staff: AdminDep, done: str = "") -> Response:
    return await _settings_page(staff, notice=staff._("Saved.") if done else "")


@router.post("/settings/firm")
async def save_firm(request: Request, staff: AdminDep) -> Response:
    data = await payload(request)
    values = {key: text(data, key)[:1000] for key in FIRM_FIELDS}
    try:
        async with staff.attempt():
            await set_firm(staff.session, values)
    except ValidationFailed as exc:
        errors = _refused(exc, "name", "firm_")
        return await _settings_page(staff, errors=errors, values={"firm": values}, status_code=422)
    return RedirectResponse("/office/settings?done=firm#firm", status_code=303)


@router.post("/settings/employees")
async def add_employee(request: Request, staff: AdminDep) -> Response:
    data = await payload(request)
    values = {key: text(data, key)[:300] for key in ("name", "email", "role")}
    password = text(data, "password")[:1000]
    try:
        async with staff.attempt():
            if password and len(password) < 10:
                raise ValidationFailed(
                    staff._("The password must be at least 10 characters."), field="password"
                )
            employee = await create_employee(
                staff.session,
                name=values["name"],
                email=values["email"],
                role=values["role"] or Role.MANAGER,
                password=password or None,
                timezone=staff.ctx.timezone,
                language=staff.ctx.language,
            )
    except (ValidationFailed, Conflict) as exc:
        errors = _refused(exc, "name", "employee_")
        return await _settings_page(
            staff, errors=errors, values={"employee": values}, status_code=422
        )
    return RedirectResponse(f"/office/settings/employees/{employee.id}", status_code=303)


async def _bot_username(staff: Staff) -> str | None:
    """The bot's @username: configured, else asked once from Telegram (getMe)."""
    ctx = staff.ctx
    if ctx.bot_username:
        return ctx.bot_username
    config = ctx.messaging.telegram if ctx.messaging else None
    if config is None:
        return None
    from messaging.telegram import TelegramSender

    sender = TelegramSender(config)
    try:
        ctx.bot_username = (await sender.bot.get_me()).username or None
    except Exception:  # Telegram unreachable: the page still works, with a placeholder
        return None
    finally:
        await sender.close()
    return ctx.bot_username


def qr_svg(link: str) -> Any:
    """The invite link as a QR code, an SVG made here (no external service)."""
    svg = segno.make(link, error="m").svg_inline(scale=4, dark="#182033", light="#ffffff")
    return markup(svg)


async def _employee_page(
    staff: Staff, employee_id: int, *, errors=None, status_code=200, invite=None, notice=""
) -> Response:
    employee = await get_employee(staff.session, employee_id)
    return render(
        staff,
        "pages/settings_employee.html",
        status_code=status_code,
        section="settings",
        notice=notice,
        employee=employee,
        roles=ROLES,
        invite=invite,
        errors=errors or {},
    )


@router.get("/settings/employees/{employee_id}")
async def employee_page(employee_id: str, staff: AdminDep, saved: str = "") -> Response:
    notice = staff._("Saved.") if saved else ""
    return await _employee_page(staff, object_id(employee_id, "Employee"), notice=notice)


@router.post("/settings/employees/{employee_id}")
async def edit_employee(request: Request, employee_id: str, staff: AdminDep) -> Response:
    eid = object_id(employee_id, "Employee")
    data = await payload(request)
    role, active, name = text(data, "role"), flag(data, "active"), text(data, "name")[:1000]
    try:
        async with staff.attempt():
            if role not in {r.value for r in Role}:
                raise ValidationFailed(staff._("Pick a role"), field="role")
            if eid == staff.employee.id and (role != Role.ADMIN or not active):
                raise ValidationFailed(
                    staff._("You cannot take away your own administrator rights."), field="role"
                )
            if not name:
                raise ValidationFailed(staff._("Give a name"), field="name")
            await update_employee(staff.session, eid, role=role, active=active, name=name)
    except ValidationFailed as exc:
        errors = _refused(exc, "role")
        return await _employee_page(staff, eid, errors=errors, status_code=422)
    return RedirectResponse(f"/office/settings/employees/{eid}?saved=1", status_code=303)


@router.post("/settings/employees/{employee_id}/invite")
async def invite(employee_id: str, staff: AdminDep) -> Response:
    """A one-time Telegram link (24 h) binding the employee's account, with its QR."""
    eid = object_id(employee_id, "Employee")
    employee = await get_employee(staff.session, eid)
    try:
        async with staff.attempt():
            issued = await create_invite(staff.session, email=employee.email)
    except NotFound:
        errors = {"invite": staff._("Only an active employee can be invited.")}
        return await _employee_page(staff, eid, errors=errors, status_code=409)
    username = await _bot_username(staff)
    link = f"https://t.me/{username or BOT_PLACEHOLDER}?start={CODE_PREFIX}{issued.code}"
    return await _employee_page(
        staff,
        eid,
        invite={
            "link": link,
            "qr": qr_svg(link),
            "expires_at": issued.expires_at,
            "no_bot": username is None,
        },
    )


@router.post("/settings/tokens")
async def new_token(request: Request, staff: AdminDep) -> Response:
    data = await payload(request)
    name = text(data, "name")[:300]
    try:
        async with staff.attempt():
            if len(name) > 200:
                raise ValidationFailed(staff._("At most 200 characters"), field="name")
            issued = await create_api_token(staff.session, name=name)
    except ValidationFailed as exc:
        errors = _refused(exc, "name", "token_")
        return await _settings_page(staff, errors=errors, status_code=422)
    # Shown once, in this answer only: the database keeps its SHA-256.
    return await _settings_page(staff, new_token=issued)


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke(token_id: str, staff: AdminDep) -> Response:
    tid = object_id(token_id, "API token")
    if await staff.session.get(ApiToken, tid) is None:
        raise NotFound(staff._("No such token"))
    await revoke_api_token(staff.session, tid)
    return RedirectResponse("/office/settings?done=token#tokens", status_code=303)


@router.post("/settings/price-kinds")
async def add_price_kind(request: Request, staff: AdminDep) -> Response:
    data = await payload(request)
    values = {"code": text(data, "code")[:100], "name": text(data, "name")[:300]}
    try:
        async with staff.attempt():
            await create_price_kind(
                staff.session,
                code=values["code"],
                name=values["name"],
                is_default=flag(data, "is_default"),
            )
    except (ValidationFailed, Conflict) as exc:
        errors = _refused(exc, "name", "price_")
        return await _settings_page(staff, errors=errors, values={"price": values}, status_code=422)
    return RedirectResponse("/office/settings?done=price#prices", status_code=303)


@router.post("/settings/price-kinds/{kind_id}")
async def edit_price_kind(request: Request, kind_id: str, staff: AdminDep) -> Response:
    pid = object_id(kind_id, "Price kind")
    data = await payload(request)
    changes: dict[str, Any] = {"name": text(data, "name")[:300]}
    if flag(data, "is_default"):
        changes["is_default"] = True
    try:
        async with staff.attempt():
            await update_price_kind(staff.session, pid, **changes)
    except ValidationFailed as exc:
        errors = _refused(exc, "name", f"price_{pid}_")
        return await _settings_page(staff, errors=errors, status_code=422)
    return RedirectResponse("/office/settings?done=price#prices", status_code=303)


# --- web forms ----------------------------------------------------------------------


async def _form_page(
    staff: Staff, form_id: int | None, *, errors=None, values=None, status_code=200, notice=""
) -> Response:
    form = await get_form(staff.session, form_id) if form_id else None
    consent = ""
    if form is not None:
        consent = (await texts_of(staff.session, form.consent_text_id))[form.consent_text_id].text
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    url, snippet = form_links(staff, form.slug) if form else ("", "")
    return render(
        staff,
        "pages/settings_form.html",
        status_code=status_code,
        section="settings",
        notice=notice,
        form=form,
        consent=consent,
        url=url,
        snippet=snippet,
        purposes=PURPOSES,
        standard_fields=STANDARD_FIELDS,
        employees=employees,
        errors=errors or {},
        values=values or {},
    )


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("slug", "title", "purpose", "consent_text", "allowed_origins", "success_message")
    values: dict[str, Any] = {key: text(data, key) for key in keys}
    values["responsible_id"] = text(data, "responsible_id")
    values["enabled"] = flag(data, "enabled")
    values["fields"] = [name for name in STANDARD_FIELDS if flag(data, f"field_{name}")]
    return values


def _form_changes(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": values["title"],
        "consent_text": values["consent_text"],
        "allowed_origins": items(values["allowed_origins"]),
        "success_message": values["success_message"] or None,
        "responsible_id": optional_id(values["responsible_id"], "responsible_id"),
        "enabled": values["enabled"],
    }


@router.get("/settings/forms/new")
async def new_form(staff: AdminDep) -> Response:
    return await _form_page(
        staff, None, values={"fields": ["name", "phone"], "enabled": True, "purpose": "lead"}
    )


@router.post("/settings/forms")
async def add_form(request: Request, staff: AdminDep) -> Response:
    values = _form_values(await payload(request))
    try:
        async with staff.attempt():
            fields = [
                {
                    "name": name,
                    "type": STANDARD_FIELDS[name][0],
                    "label": STANDARD_FIELDS[name][1],
                    "required": name in ("name", "phone", "date"),
                }
                for name in values["fields"]
            ]
            form = await create_form(
                staff.session,
                slug=values["slug"],
                purpose=values["purpose"] or "lead",
                fields=fields,
                **_form_changes(values),
            )
    except (ValidationFailed, Conflict) as exc:
        errors = {getattr(exc, "field", None) or "title": str(exc)}
        return await _form_page(staff, None, errors=errors, values=values, status_code=422)
    return RedirectResponse(f"/office/settings/forms/{form.id}?saved=1", status_code=303)


@router.get("/settings/forms/{form_id}")
async def form_page(form_id: str, staff: AdminDep, saved: str = "") -> Response:
    notice = staff._("Saved.") if saved else ""
    return await _form_page(staff, object_id(form_id, "Form"), notice=notice)


@router.post("/settings/forms/{form_id}")
async def edit_form(request: Request, form_id: str, staff: AdminDep) -> Response:
    fid = object_id(form_id, "Form")
    values = _form_values(await payload(request))
    try:
        async with staff.attempt():
            await update_form(staff.session, fid, **_form_changes(values))
    except (ValidationFailed, Conflict) as exc:
        errors = {getattr(exc, "field", None) or "title": str(exc)}
        return await _form_page(staff, fid, errors=errors, values=values, status_code=422)
    return RedirectResponse(f"/office/settings/forms/{fid}?saved=1", status_code=303)
