"""Shapes of message and document templates in the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from backoffice.api.schemas_common import InputSchema, Schema

Kind = Literal["offer", "contract", "letter", "sms", "telegram"]


class TemplateCreate(InputSchema):
    kind: Kind
    name: str = Field(max_length=200)
    subject: str | None = Field(None, max_length=300)
    body: str = Field(max_length=200_000)
    text_body: str | None = Field(None, max_length=200_000)


class TemplateUpdate(InputSchema):
    kind: Kind | None = None
    name: str | None = Field(None, max_length=200)
    subject: str | None = Field(None, max_length=300)
    body: str | None = Field(None, max_length=200_000)
    text_body: str | None = Field(None, max_length=200_000)


class TemplateOut(Schema):
    id: int
    kind: Kind
    name: str
    subject: str | None
    body: str
    text_body: str | None
    created_at: datetime
    updated_at: datetime


class RenderRequest(InputSchema):
    customer_id: int | None = Field(None, ge=1)
    order_id: int | None = Field(None, ge=1)


class RenderOut(Schema):
    subject: str
    html: str | None
    text: str
