"""Shapes shared by every resource: pages, money, history entries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

T = TypeVar("T")

# Money goes out as a decimal string with two places: "1250.00".
MoneyOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]
QuantityOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v.normalize():f}", return_type=str)]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """Inputs refuse unknown fields, so a typo is a 422, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListOf(BaseModel, Generic[T]):
    items: list[T]
    total: int


class HistoryOut(Schema):
    id: int
    action: str
    actor_kind: str
    actor_id: int | None
    actor_label: str
    at: datetime
    changes: dict[str, Any]
