"""Shapes of leads, lead states and hide reasons in the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from backoffice.api.schemas.customers import Email, Id, Phone, TelegramId
from backoffice.api.schemas_common import InputSchema, Schema
from crm_core.models import ContactKind, Lead, LeadResult, LeadSource

Utm = Annotated[str, Field(max_length=200)]
StateRef = int | Annotated[str, Field(min_length=1, max_length=50)]


class _LeadFields(InputSchema):
    name: str | None = Field(None, max_length=200)
    phone: Phone | None = None
    email: Email | None = None
    telegram_id: TelegramId | None = None
    telegram_username: str | None = Field(None, max_length=64)
    company: str | None = Field(None, max_length=200)
    legal_name: str | None = Field(None, max_length=300)
    source_detail: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=10000)
    utm_source: Utm | None = None
    utm_medium: Utm | None = None
    utm_campaign: Utm | None = None
    utm_content: Utm | None = None
    utm_term: Utm | None = None
    responsible_id: Id | None = None
    state: StateRef | None = Field(None, description="state id or code")


class LeadCreate(_LeadFields):
    source: LeadSource = LeadSource.API
    phones: list[Phone] = Field(default_factory=list, max_length=10)
    emails: list[Email] = Field(default_factory=list, max_length=10)


class LeadUpdate(_LeadFields):
    source: LeadSource | None = None
    phones: list[Phone] | None = Field(None, max_length=10)
    emails: list[Email] | None = Field(None, max_length=10)


class LeadStateRef(Schema):
    id: int
    code: str
    name: str


class LeadOut(Schema):
    id: int
    name: str
    phone: str | None
    phones: list[str]
    email: str | None
    emails: list[str]
    telegram_id: int | None
    telegram_username: str | None
    company: str | None
    legal_name: str | None
    source: LeadSource
    source_detail: str | None
    comment: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    utm_term: str | None
    responsible_id: int | None
    state: LeadStateRef
    result: LeadResult
    hide_reason_id: int | None
    hide_comment: str | None
    customer_id: int | None
    order_id: int | None
    converted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    merged: bool = False


def lead_out(lead: Lead, *, merged: bool = False) -> LeadOut:
    """The read shape; needs the lead's state and contacts loaded."""
    by_kind = {kind: [c.value for c in lead.contacts if c.kind == kind] for kind in ContactKind}
    phones, emails = by_kind[ContactKind.PHONE], by_kind[ContactKind.EMAIL]
    telegram = by_kind[ContactKind.TELEGRAM]
    return LeadOut(
        id=lead.id,
        name=lead.name,
        phone=phones[0] if phones else None,
        phones=phones,
        email=emails[0] if emails else None,
        emails=emails,
        telegram_id=int(telegram[0]) if telegram else None,
        telegram_username=lead.telegram_username,
        company=lead.company,
        legal_name=lead.legal_name,
        source=lead.source,
        source_detail=lead.source_detail,
        comment=lead.comment,
        utm_source=lead.utm_source,
        utm_medium=lead.utm_medium,
        utm_campaign=lead.utm_campaign,
        utm_content=lead.utm_content,
        utm_term=lead.utm_term,
        responsible_id=lead.responsible_id,
        state=LeadStateRef.model_validate(lead.state),
        result=lead.result,
        hide_reason_id=lead.hide_reason_id,
        hide_comment=lead.hide_comment,
        customer_id=lead.customer_id,
        order_id=lead.order_id,
        converted_at=lead.converted_at,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        merged=merged,
    )


class ConvertIn(InputSchema):
    create_order: bool = False
    customer_id: Id | None = None


class ConvertOut(Schema):
    customer_id: int
    order_id: int | None


class HideIn(InputSchema):
    reason: int | Annotated[str, Field(min_length=1, max_length=100)]
    comment: str | None = Field(None, max_length=500)


class LeadStateOut(Schema):
    id: int
    code: str
    name: str
    position: int
    is_default: bool
    active: bool


class LeadStateCreate(InputSchema):
    code: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, le=10_000)
    is_default: bool = False


class LeadStateUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, le=10_000)
    is_default: bool | None = None
    active: bool | None = None


class LeadStateOrder(InputSchema):
    ids: list[Id] = Field(max_length=200)


class HideReasonOut(Schema):
    id: int
    code: str
    name: str
    position: int
    active: bool


class HideReasonCreate(InputSchema):
    code: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, le=10_000)
