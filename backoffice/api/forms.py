"""``/forms``: web form definitions and each form's submissions with their status."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.api.deps import Page, Session, context
from backoffice.api.schemas.activity import IdPath
from backoffice.api.schemas.forms import (
    FormCreate,
    FormOut,
    FormUpdate,
    SubmissionOut,
)
from backoffice.api.schemas_common import ListOf
from crm_core import forms as service
from crm_core.models import Form

router = APIRouter(tags=["forms"])


async def _out(session: AsyncSession, form: Form, public_url: str) -> FormOut:
    texts = await service.texts_of(session, form.consent_text_id, form.marketing_consent_text_id)
    consent, marketing = texts[form.consent_text_id], texts.get(form.marketing_consent_text_id)
    base = public_url.rstrip("/")
    url = f"{base}/forms/{form.slug}"
    return FormOut(
        id=form.id,
        slug=form.slug,
        title=form.title,
        purpose=form.purpose.value,
        fields=form.fields,
        consent_text=consent.text,
        consent_version=consent.id,
        consent_sha256=consent.sha256,
        marketing_consent_text=marketing.text if marketing else None,
        marketing_consent_version=marketing.id if marketing else None,
        allowed_origins=form.allowed_origins,
        success_message=form.success_message,
        redirect_url=form.redirect_url,
        responsible_id=form.responsible_id,
        enabled=form.enabled,
        url=url,
        embed_snippet=(
            f'<script src="{escape(url)}/embed.js" data-form="{escape(form.slug)}" async></script>'
        ),
        created_at=form.created_at,
        updated_at=form.updated_at,
    )


@router.get("/forms", response_model=ListOf[FormOut])
async def list_forms(request: Request, session: Session, page: Page) -> ListOf[FormOut]:
    items, total = await service.list_forms(session, limit=page.limit, offset=page.offset)
    url = context(request).public_url
    return ListOf[FormOut](items=[await _out(session, f, url) for f in items], total=total)


@router.post("/forms", response_model=FormOut, status_code=201)
async def create_form(body: FormCreate, request: Request, session: Session) -> FormOut:
    fields = body.model_dump(exclude_none=True)
    fields["fields"] = [f.model_dump(exclude_none=True) for f in body.fields]
    form = await service.create_form(session, **fields)
    return await _out(session, form, context(request).public_url)


@router.get("/forms/{form_id}", response_model=FormOut)
async def get_form(form_id: IdPath, request: Request, session: Session) -> FormOut:
    form = await service.get_form(session, form_id)
    return await _out(session, form, context(request).public_url)


@router.patch("/forms/{form_id}", response_model=FormOut)
async def update_form(
    form_id: IdPath, body: FormUpdate, request: Request, session: Session
) -> FormOut:
    changes = body.model_dump(exclude_unset=True)
    if body.fields is not None:
        changes["fields"] = [f.model_dump(exclude_none=True) for f in body.fields]
    form = await service.update_form(session, form_id, **changes)
    return await _out(session, form, context(request).public_url)


@router.get("/forms/{form_id}/submissions", response_model=ListOf[SubmissionOut])
async def list_submissions(
    form_id: IdPath, session: Session, page: Page, status: str | None = None
) -> ListOf[SubmissionOut]:
    await service.get_form(session, form_id)
    items, total = await service.list_submissions(
        session, form_id, status=status, limit=page.limit, offset=page.offset
    )
    return ListOf[SubmissionOut](
        items=[SubmissionOut.model_validate(s) for s in items], total=total
    )
