"""Sign-in and sign-out. The sign-in form is protected from cross-site posting by a
double-submit token (a cookie and a hidden field that must match); after sign-in the
session's own CSRF token guards every form."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.context import COOKIE, LOGIN_CSRF_COOKIE
from backoffice.office.deps import StaffDep, office_context
from backoffice.office.i18n import catalog
from backoffice.office.templating import render
from crm_core.context import bind
from crm_core.db import READ_ONLY
from crm_core.employees.office_sessions import LockedOut, resolve_session, sign_in, sign_out
from crm_core.i18n import pick_language

router = APIRouter()
HOME = "/office/leads/board"


def safe_next(value: str | None) -> str:
    """Only a path inside the office; anything else (other hosts, ``//x``) → home."""
    if (
        value
        and value.startswith("/office/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(ord(c) < 32 for c in value)
    ):
        return value
    return HOME


def _lang(request: Request) -> str:
    return pick_language(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        office_context(request).language,
    )


def _login_page(
    request: Request, *, error: str = "", email: str = "", status_code: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        None,
        "login.html",
        status_code=status_code,
        lang=_lang(request),
        csrf_token=token,
        error=error,
        email=email,
        next=safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=office_context(request).secure_cookies,
        path="/office/login",
    )
    return response


@router.get("/")
async def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    ctx = office_context(request)
    token = request.cookies.get(COOKIE, "")
    if token:
        async with ctx.sessions() as session:
            bind(session, actor=None, clock=ctx.clock)
            await session.connection(execution_options=READ_ONLY)
            if await resolve_session(session, token, touch=False):
                return RedirectResponse(
                    safe_next(request.query_params.get("next")), status_code=303
                )
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    email: str = Form("", max_length=300),
    password: str = Form("", max_length=2000),
    csrf_token: str = Form("", max_length=200),
    next: str = Form("", max_length=2000),
) -> Response:
    ctx = office_context(request)
    _ = catalog.translator(_lang(request))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(
            request,
            error=_("The form has expired. Please sign in again."),
            email=email,
            status_code=403,
        )
    ip = request.client.host if request.client else ""
    async with ctx.sessions() as session:
        bind(session, actor=None, clock=ctx.clock)
        try:
            signed = await sign_in(
                session,
                email=email,
                password=password,
                ip=ip,
                user_agent=request.headers.get("user-agent", ""),
            )
        except LockedOut as exc:
            await session.rollback()
            minutes = max(1, int((exc.until - ctx.clock.now()).total_seconds() // 60) + 1)
            return _login_page(
                request,
                error=_("Too many failed attempts. Try again in {minutes} min.", minutes=minutes),
                email=email,
                status_code=429,
            )
        await session.commit()
    if signed is None:
        return _login_page(
            request, error=_("Wrong email or password."), email=email, status_code=401
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        signed.token,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
        path="/office",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/office/login")
    return response


@router.post("/logout")
async def logout(request: Request, staff: StaffDep) -> Response:
    await sign_out(staff.session, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/office/login", status_code=303)
    response.delete_cookie(COOKIE, path="/office")
    return response
