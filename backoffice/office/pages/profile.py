"""The signed-in employee's own settings: language, time zone, agenda hour, password."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.context import COOKIE
from backoffice.office.deps import StaffDep
from backoffice.office.templating import render
from crm_core.employees.office_sessions import change_own_password
from crm_core.employees.service import update_employee
from crm_core.errors import ValidationFailed
from crm_core.i18n import LANGUAGES

router = APIRouter()

TIMEZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "Europe/Minsk",
    "Asia/Almaty",
    "UTC",
)


def _page(staff, *, errors=None, notice="", status_code=200) -> Response:
    return render(
        staff,
        "pages/profile.html",
        status_code=status_code,
        section="",
        languages=LANGUAGES,
        timezones=TIMEZONES,
        errors=errors or {},
        notice=notice,
    )


@router.get("/profile")
async def profile(staff: StaffDep, saved: str = "") -> Response:
    notice = staff._("Saved.") if saved else ""
    return _page(staff, notice=notice)


@router.post("/profile")
async def save_profile(
    staff: StaffDep,
    language: str = Form("ru", max_length=8),
    timezone: str = Form("Europe/Moscow", max_length=64),
    agenda_hour: int = Form(9, ge=0, le=23),
) -> Response:
    if language not in LANGUAGES:
        return _page(staff, errors={"language": staff._("Pick a language")}, status_code=422)
    try:
        async with staff.attempt():
            await update_employee(
                staff.session,
                staff.employee.id,
                language=language,
                timezone=timezone,
                agenda_hour=agenda_hour,
            )
    except ValidationFailed as exc:
        return _page(staff, errors={exc.field or "timezone": str(exc)}, status_code=422)
    return RedirectResponse("/office/profile?saved=1", status_code=303)


@router.post("/profile/password")
async def change_password(
    request: Request,
    staff: StaffDep,
    current_password: str = Form("", max_length=2000),
    password: str = Form("", max_length=2000),
) -> Response:
    try:
        async with staff.attempt():
            await change_own_password(
                staff.session,
                employee_id=staff.employee.id,
                current=current_password,
                new=password,
                keep_token=request.cookies.get(COOKIE, ""),
            )
    except ValidationFailed as exc:
        messages = {
            "current_password": staff._("The current password is wrong."),
            "password": staff._("The new password must be at least 10 characters."),
        }
        field = exc.field or "password"
        return _page(staff, errors={field: messages.get(field, str(exc))}, status_code=422)
    return RedirectResponse("/office/profile?saved=1", status_code=303)
