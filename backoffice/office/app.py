"""The ``/office`` application: sign-in, pages, static files, errors as pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backoffice.office import auth
from backoffice.office.context import OfficeContext
from backoffice.office.errors import CsrfFailed, LoginRequired
from backoffice.office.i18n import catalog
from backoffice.office.pages import PAGES
from backoffice.office.security import SecurityHeaders
from backoffice.office.templating import render
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.i18n import pick_language

STATIC = Path(__file__).resolve().parent / "static"


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or (
        request.headers.get("x-requested-with", "").lower() == "fetch"
    )


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status)
    lang = pick_language(request.headers.get("accept-language"), request.app.state.office.language)
    return render(None, "error.html", status_code=status, lang=lang, title=title, detail=detail)


def create_office(ctx: OfficeContext) -> FastAPI:
    """The back office app (mount it at ``/office``)."""
    office = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    office.state.office = ctx
    office.add_middleware(SecurityHeaders)
    office.mount("/static", StaticFiles(directory=STATIC), name="static")

    @office.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if wants_json(request) or request.method not in ("GET", "HEAD"):
            if wants_json(request):
                return JSONResponse({"detail": "Sign in first"}, status_code=401)
            return RedirectResponse("/office/login", status_code=303)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/office/login?next={quote(target)}", status_code=303)

    def translator(request: Request):
        return catalog.translator(
            pick_language(request.headers.get("accept-language"), ctx.language)
        )

    @office.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        _ = translator(request)
        return _error_page(
            request,
            403,
            _("The form has expired"),
            _("Reload the page and try again (the security token did not match)."),
        )

    @office.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        _ = translator(request)
        return _error_page(request, 403, _("Not allowed"), str(exc))

    @office.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        _ = translator(request)
        return _error_page(request, 404, _("Not found"), str(exc))

    @office.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> Response:
        _ = translator(request)
        return _error_page(request, 409, _("Could not be done"), str(exc))

    @office.exception_handler(ValidationFailed)
    async def _invalid(request: Request, exc: ValidationFailed) -> Response:
        if wants_json(request):
            field = getattr(exc, "field", None)
            body = {"detail": str(exc)}
            if field:
                body["errors"] = {field: str(exc)}
            return JSONResponse(body, status_code=422)
        _ = translator(request)
        return _error_page(request, 422, _("Check the data"), str(exc))

    office.include_router(auth.router)
    for router in PAGES:
        office.include_router(router)
    return office
