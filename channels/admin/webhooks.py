"""``/order-webhooks``: the stores that push orders, each with its own secret
(shown at creation and after ``rotate_secret``; admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from channels.admin.auth import Ctx, Session
from crm_core.employees.access import require_admin
from crm_core.order_webhooks.sources import create_source, list_sources, update_source

router = APIRouter(tags=["order webhooks"])


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: Annotated[str, Field(min_length=1, max_length=50)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    secret: Annotated[str | None, Field(min_length=32, max_length=128)] = None


class SourcePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    enabled: bool | None = None
    rotate_secret: bool = False


class SourceOut(BaseModel):
    id: int
    code: str
    name: str
    enabled: bool
    url: str
    secret: str
    created_at: datetime
    last_used_at: datetime | None


def _out(source, public_url: str) -> SourceOut:
    return SourceOut(
        id=source.id,
        code=source.code,
        name=source.name,
        enabled=source.enabled,
        url=f"{public_url.rstrip('/')}/channels/orders/{source.code}",
        secret=source.secret,
        created_at=source.created_at,
        last_used_at=source.last_used_at,
    )


@router.get("/order-webhooks", response_model=list[SourceOut])
async def get_sources(session: Session, ctx: Ctx) -> list[SourceOut]:
    await require_admin(session, action="see order webhook secrets")
    return [_out(s, ctx.public_url) for s in await list_sources(session)]


@router.post("/order-webhooks", response_model=SourceOut, status_code=201)
async def post_source(body: SourceIn, session: Session, ctx: Ctx) -> SourceOut:
    source = await create_source(session, code=body.code, name=body.name, secret=body.secret)
    return _out(source, ctx.public_url)


@router.patch("/order-webhooks/{source_id}", response_model=SourceOut)
async def patch_source(source_id: int, body: SourcePatch, session: Session, ctx: Ctx) -> SourceOut:
    source = await update_source(
        session,
        source_id,
        name=body.name,
        enabled=body.enabled,
        rotate_secret=body.rotate_secret,
    )
    return _out(source, ctx.public_url)
