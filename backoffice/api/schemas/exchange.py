"""Shapes of the 1C exchange settings and the exchange log in the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from backoffice.api.schemas_common import InputSchema, Schema


class Exchange1COut(Schema):
    login: str
    enabled: bool
    password_set: bool = Field(description="the password itself is never shown")


class Exchange1CUpdate(InputSchema):
    """Fields left out keep their value; an empty password removes it."""

    login: str | None = Field(None, max_length=100)
    password: str | None = Field(None, max_length=200, description="stored hashed (argon2)")
    enabled: bool | None = None


class ExchangeOut(Schema):
    id: int
    peer: str = Field(description='"1c" for the firm\'s 1C, "store" for an online store')
    store_id: int | None = Field(None, description="the store of a store run")
    direction: str = Field(description='"in" to Firma, "out" of it, "both" (a store run)')
    type: str
    mode: str
    filename: str | None
    status: str = Field(description="running, success, failure")
    counts: dict[str, Any]
    errors: list[Any]
    message: str | None
    started_at: datetime
    finished_at: datetime | None
