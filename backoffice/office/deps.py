"""Request dependencies of the office: the signed-in employee, CSRF, one transaction.

Reading pages (GET/HEAD) run in a read-only transaction (on SQLite it begins DEFERRED
and never waits for writers) and never write; the session's idle expiry is slid
forward in a short separate transaction at most every few minutes. State-changing
requests (POST) check the CSRF token and commit before the response is sent.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from backoffice.office.context import COOKIE, OfficeContext, Staff
from backoffice.office.errors import CsrfFailed, LoginRequired
from backoffice.office.i18n import catalog
from crm_core.context import Actor, ActorKind, bind, now
from crm_core.db import READ_ONLY, unit_of_work
from crm_core.employees.office_sessions import resolve_session, session_needs_write
from crm_core.errors import Forbidden
from crm_core.i18n import pick_language

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def office_context(request: Request) -> OfficeContext:
    return request.app.state.office


async def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else ""
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


async def _staff(request: Request) -> AsyncIterator[Staff]:
    ctx = office_context(request)
    token = request.cookies.get(COOKIE, "")
    reading = request.method in SAFE_METHODS
    async with ctx.sessions() as session:
        bind(session, actor=None, clock=ctx.clock)
        try:
            if reading:
                await session.connection(execution_options=READ_ONLY)
            found = await resolve_session(session, token, touch=not reading)
            if found is None:
                raise LoginRequired()
            office_session, employee = found
            if not reading and not await _csrf_ok(request, office_session.csrf_token):
                raise CsrfFailed()
            bind(
                session,
                actor=Actor(ActorKind.EMPLOYEE, employee.id, employee.name),
                clock=ctx.clock,
            )
            lang = pick_language(employee.language, ctx.language)
            staff = Staff(ctx, session, employee, office_session, lang, catalog.translator(lang))
            if reading and session_needs_write(office_session, now(session)):
                async with unit_of_work(ctx.sessions, clock=ctx.clock) as touch:
                    await resolve_session(touch, token, touch=True)
            yield staff
            if reading:
                await session.rollback()
            else:
                await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def _admin(staff: Annotated[Staff, Depends(_staff, scope="function")]) -> Staff:
    if not staff.is_admin:
        raise Forbidden(staff._("Only an administrator may open this page"))
    return staff


StaffDep = Annotated[Staff, Depends(_staff, scope="function")]
AdminDep = Annotated[Staff, Depends(_admin, scope="function")]
