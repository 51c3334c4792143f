"""Templates: create, change, list, delete, and render with a customer/order context."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import Template, TemplateKind
from crm_core.numbering import FIRM_TIMEZONE
from messaging.context import build_context, date_ru, money, money_words
from messaging.sandbox import TemplateRefused, compile_template, register_filters, render

register_filters(
    money=money,
    money_words=money_words,
    date_ru=lambda value, tz=FIRM_TIMEZONE: date_ru(value, tz),
)
FIELDS = ("kind", "name", "subject", "body", "text_body")


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str | None
    text: str


def _kind(value: TemplateKind | str) -> TemplateKind:
    try:
        return TemplateKind(value)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown template kind {value!r}", field="kind") from exc


def _check(template: Template) -> None:
    """Refuse a template that does not compile, at save time rather than at send time."""
    if not (template.name or "").strip():
        raise ValidationFailed("A template needs a name", field="name")
    parts = {
        "subject": (template.subject, False),
        "body": (template.body, template.kind.is_html),
        "text_body": (template.text_body, False),
    }
    for field, (source, autoescape) in parts.items():
        if source:
            try:
                compile_template(source, autoescape)
            except TemplateRefused as exc:
                raise ValidationFailed(str(exc), field=field) from exc


async def create_template(session: AsyncSession, **values: Any) -> Template:
    """Add a template; its parts must compile."""
    at = now(session)
    template = Template(created_at=at, updated_at=at, **{k: values.get(k) for k in FIELDS})
    template.kind = _kind(values.get("kind"))
    template.body = template.body or ""
    _check(template)
    session.add(template)
    await session.flush()
    return template


async def get_template(session: AsyncSession, template_id: int) -> Template:
    """One template, or NotFound."""
    return await get_or_404(session, Template, template_id)


async def update_template(session: AsyncSession, template_id: int, **values: Any) -> Template:
    """Change the given fields of a template."""
    template = await get_template(session, template_id)
    for key, value in values.items():
        if key not in FIELDS:
            raise ValidationFailed(f"Unknown field {key!r}", field=key)
        setattr(template, key, _kind(value) if key == "kind" else value)
    if template.body is None:
        raise ValidationFailed("A template needs a body", field="body")
    _check(template)
    template.updated_at = now(session)
    await session.flush()
    return template


async def delete_template(session: AsyncSession, template_id: int) -> None:
    """Delete a template (refused by the database while a campaign uses it)."""
    template = await get_template(session, template_id)
    await session.delete(template)
    await session.flush()


async def list_templates(
    session: AsyncSession, *, kind: TemplateKind | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Template], int]:
    """Templates by name, with the total."""
    query = select(Template)
    if kind is not None:
        query = query.where(Template.kind == kind)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Template.name, Template.id).limit(limit).offset(offset)
    )
    return list(rows), total or 0


def html_to_text(markup: str) -> str:
    """A readable plain-text part from HTML, for letters written without one."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr)>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def render_with(template: Template, context: dict[str, Any]) -> Rendered:
    """Render a template's parts with a ready context; sandbox refusals become 422."""
    try:
        subject = render(template.subject or "", context, autoescape=False).strip()
        body = render(template.body, context, autoescape=template.kind.is_html)
        text = render(template.text_body, context, autoescape=False) if template.text_body else None
    except TemplateRefused as exc:
        raise ValidationFailed(str(exc), field="body") from exc
    subject = " ".join(subject.split())  # a header must not carry newlines
    if template.kind.is_html:
        return Rendered(subject, body, text or html_to_text(body))
    return Rendered(subject, None, body)


async def render_template(
    session: AsyncSession, template_id: int, *, customer_id: int | None, order_id: int | None = None
) -> Rendered:
    """Render a template for a customer (and an order of theirs)."""
    template = await get_template(session, template_id)
    context = await build_context(session, customer_id=customer_id, order_id=order_id)
    return render_with(template, context)
