"""Shapes of the online stores Firma exchanges with (CommerceML client side)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from backoffice.api.schemas_common import InputSchema, Schema


class StoreCreate(InputSchema):
    name: str = Field(max_length=100)
    exchange_url: str = Field(
        max_length=500,
        description="the store's CommerceML script, e.g. https://shop.ru/bitrix/admin/1c_exchange.php",
    )
    login: str = Field(max_length=100)
    password: str | None = Field(None, max_length=200, description="stored encrypted, never shown")
    schedule: int = Field(60, ge=5, le=10080, description="minutes between runs")
    enabled: bool = True
    send_catalog: bool = Field(True, description="upload catalog and offers at each run")


class StoreUpdate(InputSchema):
    """Fields left out keep their value; an empty password removes it."""

    name: str | None = Field(None, max_length=100)
    exchange_url: str | None = Field(None, max_length=500)
    login: str | None = Field(None, max_length=100)
    password: str | None = Field(None, max_length=200)
    schedule: int | None = Field(None, ge=5, le=10080)
    enabled: bool | None = None
    send_catalog: bool | None = None


class StoreOut(Schema):
    id: int
    name: str
    exchange_url: str
    login: str
    password_set: bool = Field(description="the password itself is never shown")
    schedule: int = Field(description="minutes between runs")
    enabled: bool
    send_catalog: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None = Field(description="success or failure of the last run")
    last_message: str | None


def store_out(store) -> StoreOut:
    return StoreOut(
        id=store.id,
        name=store.name,
        exchange_url=store.exchange_url,
        login=store.login,
        password_set=bool(store.password_encrypted),
        schedule=store.schedule_minutes,
        enabled=store.enabled,
        send_catalog=store.send_catalog,
        next_run_at=store.next_run_at,
        last_run_at=store.last_run_at,
        last_status=store.last_status,
        last_message=store.last_message,
    )
