"""Shapes of web forms and their submissions in the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backoffice.api.schemas_common import InputSchema, Schema

Purpose = Literal["lead", "survey", "registration"]
FieldType = Literal["name", "phone", "email", "text", "textarea", "select", "checkbox", "date"]
Texts = str | dict[Literal["ru", "en"], str]


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=50)
    type: FieldType | Literal["hidden"]
    label: Texts | None = None
    help: Texts | None = None
    required: bool = False
    options: list[str] | None = Field(None, max_length=100)
    default: str | None = Field(None, max_length=1000)


class FormCreate(InputSchema):
    slug: str = Field(max_length=64)
    title: str = Field(max_length=200)
    purpose: Purpose = "lead"
    fields: list[FormField] = Field(min_length=1, max_length=50)
    consent_text: str = Field(max_length=20000)
    marketing_consent_text: str | None = Field(None, max_length=20000)
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    success_message: str | None = Field(None, max_length=2000)
    redirect_url: str | None = Field(None, max_length=500)
    responsible_id: int | None = None
    enabled: bool = True


class FormUpdate(InputSchema):
    slug: str | None = Field(None, max_length=64)
    title: str | None = Field(None, max_length=200)
    purpose: Purpose | None = None
    fields: list[FormField] | None = Field(None, min_length=1, max_length=50)
    consent_text: str | None = Field(None, max_length=20000)
    marketing_consent_text: str | None = Field(None, max_length=20000)
    allowed_origins: list[str] | None = Field(None, max_length=50)
    success_message: str | None = Field(None, max_length=2000)
    redirect_url: str | None = Field(None, max_length=500)
    responsible_id: int | None = None
    enabled: bool | None = None


class FormOut(Schema):
    id: int
    slug: str
    title: str
    purpose: Purpose
    fields: list[dict[str, Any]]
    consent_text: str
    consent_version: int
    consent_sha256: str
    marketing_consent_text: str | None
    marketing_consent_version: int | None
    allowed_origins: list[str]
    success_message: str | None
    redirect_url: str | None
    responsible_id: int | None
    enabled: bool
    url: str
    embed_snippet: str
    created_at: datetime
    updated_at: datetime


class SubmissionOut(Schema):
    id: int
    form_id: int
    status: Literal["received", "processed", "failed", "spam"]
    answers: dict[str, Any]
    meta: dict[str, Any]
    ip: str | None
    user_agent: str | None
    consent_version: int | None = Field(validation_alias="consent_text_id")
    marketing_consent: bool
    marketing_consent_version: int | None = Field(validation_alias="marketing_text_id")
    marketing_applied_at: datetime | None
    lead_id: int | None
    customer_id: int | None
    event_id: int | None
    attempts: int
    error: str | None
    created_at: datetime
    processed_at: datetime | None
