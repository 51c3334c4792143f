"""Form definitions: create, change, read, list; consent texts stored once each."""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.customers.common import UNSET, is_set
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.forms.fields import check_fields
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import ConsentText, Employee, Form, FormPurpose

# Bumped whenever a form or its texts change in this process: the public side's cache
# of definitions reloads at once here, and within its time-to-live in other processes.
_changes = itertools.count(1)
_version = 0


def definitions_version() -> int:
    """A number that changes whenever a form definition changed (in this process)."""
    return _version


def _changed() -> None:
    global _version
    _version = next(_changes)


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
MAX_CONSENT = 20000


async def consent_text(session: AsyncSession, text: str, *, field: str) -> ConsentText:
    """The stored row for this exact wording; a new wording becomes a new version."""
    text = (text or "").strip()
    if not text or len(text) > MAX_CONSENT:
        raise ValidationFailed(f"A consent text of 1 to {MAX_CONSENT} characters", field=field)
    digest = hashlib.sha256(text.encode()).hexdigest()
    row = await session.scalar(select(ConsentText).where(ConsentText.sha256 == digest))
    if row is not None:
        return row
    row = ConsentText(sha256=digest, text=text, created_at=now(session))
    try:  # two forms saving the same new text at once: the unique hash settles it
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        row = await session.scalar(select(ConsentText).where(ConsentText.sha256 == digest))
    return row


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ValidationFailed("Slug: lower-case letters, digits and dashes", field="slug")
    return value


def _origins(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 50:
        raise ValidationFailed("Up to 50 origins like https://example.ru", field="allowed_origins")
    out = []
    for origin in value:
        origin = str(origin).strip().rstrip("/").lower()
        if not _ORIGIN.match(origin):
            raise ValidationFailed(f"Not an origin: {origin!r}", field="allowed_origins")
        out.append(origin)
    return list(dict.fromkeys(out))


def _purpose(value: Any) -> FormPurpose:
    try:
        return FormPurpose(value)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown purpose {value!r}", field="purpose") from exc


async def _apply(session: AsyncSession, form: Form, changes: dict[str, Any]) -> None:
    if "slug" in changes:
        form.slug = _slug(changes["slug"])
    if "title" in changes:
        title = (changes["title"] or "").strip()
        if not title or len(title) > 200:
            raise ValidationFailed("A title of 1 to 200 characters", field="title")
        form.title = title
    if "purpose" in changes:
        form.purpose = _purpose(changes["purpose"])
    if "fields" in changes or "purpose" in changes:
        form.fields = check_fields(changes.get("fields", form.fields), form.purpose.value)
    if "consent_text" in changes:
        form.consent_text_id = (
            await consent_text(session, changes["consent_text"], field="consent_text")
        ).id
    if "marketing_consent_text" in changes:
        text = changes["marketing_consent_text"]
        form.marketing_consent_text_id = (
            (await consent_text(session, text, field="marketing_consent_text")).id if text else None
        )
    if "allowed_origins" in changes:
        form.allowed_origins = _origins(changes["allowed_origins"] or [])
    for key, limit in (("success_message", 2000), ("redirect_url", 500)):
        if key in changes:
            value = (changes[key] or "").strip() or None
            if value and len(value) > limit:
                raise ValidationFailed(f"At most {limit} characters", field=key)
            if key == "redirect_url" and value and not value.startswith(("https://", "http://")):
                raise ValidationFailed("An http(s) URL", field=key)
            setattr(form, key, value)
    if "responsible_id" in changes:
        await require_ref(
            session, Employee, changes["responsible_id"], field="responsible_id", what="Employee"
        )
        form.responsible_id = changes["responsible_id"]
    if changes.get("enabled") is not None:
        form.enabled = bool(changes["enabled"])


async def _flush_unique(session: AsyncSession, form: Form) -> Form:
    with session.no_autoflush:  # look before the changed slug is written
        clash = await session.scalar(
            select(Form.id).where(Form.slug == form.slug, Form.id != form.id)
        )
    if clash:
        raise Conflict(f"Form {clash} already has slug {form.slug}", field="slug")
    await session.flush()
    return form


async def create_form(session: AsyncSession, **fields: Any) -> Form:
    """A new form; ``slug``, ``title``, ``fields`` and ``consent_text`` are required."""
    for key in ("slug", "title", "fields", "consent_text"):
        if not fields.get(key):
            raise ValidationFailed(f"{key} is required", field=key)
    at = now(session)
    form = Form(purpose=FormPurpose.LEAD, allowed_origins=[], enabled=True)
    form.created_at = form.updated_at = at
    fields.setdefault("purpose", "lead")
    await _apply(session, form, fields)
    if form.slug and await session.scalar(select(Form.id).where(Form.slug == form.slug)):
        raise Conflict(f"A form with slug {form.slug} exists", field="slug")
    session.add(form)
    await session.flush()
    _changed()
    return form


async def update_form(session: AsyncSession, form_id: int, **changes: Any) -> Form:
    """Change what is given; a changed consent text becomes a new version."""
    form = await get_or_404(session, Form, form_id, what="Form")
    changes = {k: v for k, v in changes.items() if is_set(v) and v is not UNSET}
    await _apply(session, form, changes)
    form.updated_at = now(session)
    form = await _flush_unique(session, form)
    _changed()
    return form


async def get_form(session: AsyncSession, form_id: int) -> Form:
    return await get_or_404(session, Form, form_id, what="Form")


async def form_by_slug(session: AsyncSession, slug: str) -> Form:
    form = await session.scalar(select(Form).where(Form.slug == slug))
    if form is None:
        raise NotFound(f"Form {slug!r} not found")
    return form


async def public_form(session: AsyncSession, slug: str) -> tuple[Form, str, str | None]:
    """The form with the consent and marketing texts it shows, for the public side."""
    form = await form_by_slug(session, slug)
    texts = await texts_of(session, form.consent_text_id, form.marketing_consent_text_id)
    marketing = texts.get(form.marketing_consent_text_id)
    return form, texts[form.consent_text_id].text, marketing.text if marketing else None


async def texts_of(session: AsyncSession, *ids: int | None) -> dict[int, ConsentText]:
    wanted = [i for i in ids if i]
    rows = await session.scalars(select(ConsentText).where(ConsentText.id.in_(wanted)))
    return {row.id: row for row in rows}


async def list_forms(
    session: AsyncSession, *, limit: int = 50, offset: int = 0
) -> tuple[list[Form], int]:
    total = await session.scalar(select(func.count(Form.id)))
    rows = await session.scalars(select(Form).order_by(Form.id).limit(limit).offset(offset))
    return list(rows), total or 0
