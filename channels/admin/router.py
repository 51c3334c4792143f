"""Every channels route of the REST API, in one router for the composition root."""

from __future__ import annotations

from fastapi import APIRouter

from channels.admin import feeds, files, payments, webhooks


def channels_api_router() -> APIRouter:
    router = APIRouter()
    for module in (payments, webhooks, feeds, files):
        router.include_router(module.router)
    return router
