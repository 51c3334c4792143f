from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.api import routes
from backoffice.api.deps import ApiContext
from backoffice.api.errors import install_error_handlers
from crm_core.context import Clock, SystemClock


def create_api(
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    timezone: str = "Europe/Moscow",
    public_url: str = "http://127.0.0.1:8000",
) -> FastAPI:
    """The ``/api/v1`` application (mount it at ``/api/v1``)."""
    api = FastAPI(
        title="Firma REST API",
        version="1",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.ctx = ApiContext(
        sessions=sessions, clock=clock or SystemClock(), timezone=timezone, public_url=public_url
    )
    install_error_handlers(api)
    for router in routes.ROUTERS:
        api.include_router(router)
    return api
