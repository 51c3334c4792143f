"""``/templates``: offers, contracts, letters, SMS and Telegram texts; render preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.templates import (
    Kind,
    RenderOut,
    RenderRequest,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)
from backoffice.api.schemas_common import ListOf
from crm_core.models import TemplateKind
from messaging import templates as service

router = APIRouter(tags=["templates"])
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/templates", response_model=ListOf[TemplateOut])
async def list_templates(session: Session, page: Page, kind: Kind | None = None):
    items, total = await service.list_templates(
        session,
        kind=TemplateKind(kind) if kind else None,
        limit=page.limit,
        offset=page.offset,
    )
    return ListOf[TemplateOut](items=[TemplateOut.model_validate(t) for t in items], total=total)


@router.post("/templates", response_model=TemplateOut, status_code=201)
async def create_template(body: TemplateCreate, session: Session) -> TemplateOut:
    return TemplateOut.model_validate(await service.create_template(session, **body.model_dump()))


@router.get("/templates/{template_id}", response_model=TemplateOut)
async def get_template(template_id: TemplateId, session: Session) -> TemplateOut:
    return TemplateOut.model_validate(await service.get_template(session, template_id))


@router.patch("/templates/{template_id}", response_model=TemplateOut)
async def update_template(
    template_id: TemplateId, body: TemplateUpdate, session: Session
) -> TemplateOut:
    changes = body.model_dump(exclude_unset=True)
    return TemplateOut.model_validate(
        await service.update_template(session, template_id, **changes)
    )


@router.delete("/templates/{template_id}", status_code=204)
async def delete_template(template_id: TemplateId, session: Session) -> None:
    await service.delete_template(session, template_id)


@router.post("/templates/{template_id}/render", response_model=RenderOut)
async def render_template(
    template_id: TemplateId, body: RenderRequest, session: Session
) -> RenderOut:
    rendered = await service.render_template(
        session, template_id, customer_id=body.customer_id, order_id=body.order_id
    )
    return RenderOut(subject=rendered.subject, html=rendered.html, text=rendered.text)
