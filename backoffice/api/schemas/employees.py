"""Shapes of employees (staff accounts) in the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from backoffice.api.schemas_common import InputSchema, Schema
from crm_core.models import Employee, Role

Language = Literal["ru", "en"]


class EmployeeCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    role: Role = Role.MANAGER
    password: str | None = Field(None, min_length=8, max_length=200)
    timezone: str = Field("Europe/Moscow", max_length=64)
    language: Language = "ru"
    agenda_hour: int | None = Field(None, ge=0, le=23)


class EmployeeUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, min_length=3, max_length=254)
    role: Role | None = None
    password: str | None = Field(None, min_length=8, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    language: Language | None = None
    agenda_hour: int | None = Field(None, ge=0, le=23)
    active: bool | None = None


class EmployeeOut(Schema):
    id: int
    name: str
    email: str
    role: Role
    timezone: str
    language: str
    agenda_hour: int
    active: bool
    telegram_bound: bool
    # Bound, but Telegram refused a message (403: the bot was blocked); re-binding clears it.
    telegram_unreachable: bool
    calendar_url: str | None
    created_at: datetime


def employee_out(employee: Employee, public_url: str) -> EmployeeOut:
    """The read shape: never the password hash, the Telegram id or the bare token."""
    token = employee.calendar_token
    return EmployeeOut(
        id=employee.id,
        name=employee.name,
        email=employee.email,
        role=employee.role,
        timezone=employee.timezone,
        language=employee.language,
        agenda_hour=employee.agenda_hour,
        active=employee.active,
        telegram_bound=employee.telegram_user_id is not None,
        telegram_unreachable=employee.telegram_unreachable,
        calendar_url=f"{public_url.rstrip('/')}/calendar/{token}.ics" if token else None,
        created_at=employee.created_at,
    )
