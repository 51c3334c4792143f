"""Domain errors and request validation mapped to HTTP once, for every route."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from crm_core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed

STATUS = {NotFound: 404, Conflict: 409, ValidationFailed: 422, Forbidden: 403}


def _status_of(exc: DomainError) -> int:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        body: dict = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = {}
        for err in exc.errors():
            errors.setdefault(_location(tuple(err.get("loc", ()))), err.get("msg", "invalid"))
        detail = "; ".join(f"{field}: {message}" for field, message in errors.items())
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
