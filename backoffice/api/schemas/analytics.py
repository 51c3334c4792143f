"""Shapes of the funnel, plan vs actual and sales plan rows in the REST API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, field_serializer

from backoffice.api.schemas.activity import Id
from backoffice.api.schemas_common import InputSchema, MoneyOut, Schema
from crm_core.models import StateCategory

Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-03"])]
# Percentages as JSON numbers with one decimal place: 66.7
Percent = Annotated[Decimal, PlainSerializer(float, return_type=float)]


class FunnelStateOut(Schema):
    id: int
    code: str
    name: str
    category: StateCategory
    position: int
    count: int
    amount: MoneyOut
    reached: int | None = Field(description="orders in this or a later non-cancelled state")
    conversion: Percent | None = Field(description="reached here / reached at the previous")


class CategoryTotalOut(Schema):
    count: int
    amount: MoneyOut


class StageOut(Schema):
    stage: str = Field(description="leads, converted, ordered, paid")
    count: int
    percent: Percent | None = Field(description="of the previous stage")


class FunnelOut(Schema):
    date_from: date
    date_to: date
    kind_id: int
    responsible_id: int | None
    states: list[FunnelStateOut]
    count: int
    amount: MoneyOut
    by_category: dict[str, CategoryTotalOut]
    conversion: list[StageOut]


class PlanRowOut(Schema):
    employee_id: int | None
    employee_name: str
    plan: MoneyOut
    actual: MoneyOut
    paid: MoneyOut
    orders: int
    percent: Percent | None
    paid_percent: Percent | None


class PlanReportOut(Schema):
    period_from: date
    period_to: date
    rows: list[PlanRowOut]
    total: PlanRowOut
    months: list[PlanReportOut] = []

    @field_serializer("period_from", "period_to")
    def _month(self, value: date) -> str:
        return value.strftime("%Y-%m")


class GroupPlanRowOut(Schema):
    group_id: int | None = Field(description="None: lines without a product or a group")
    group_name: str
    parent_id: int | None
    depth: int = Field(description="0 for a top-level group")
    plan: MoneyOut
    actual: MoneyOut = Field(description="order line amounts of the group and its subgroups")
    orders: int
    percent: Percent | None


class GroupPlanReportOut(Schema):
    period_from: date
    period_to: date
    employee_id: int | None
    rows: list[GroupPlanRowOut]
    total: GroupPlanRowOut
    months: list[GroupPlanReportOut] = []

    @field_serializer("period_from", "period_to")
    def _month(self, value: date) -> str:
        return value.strftime("%Y-%m")


class SalesPlanIn(InputSchema):
    period: Month
    employee_id: Id | None = Field(None, description="None: the whole firm")
    product_group_id: Id | None = None
    amount: Decimal | None = Field(
        ge=0, max_digits=15, decimal_places=2, description="None removes the row"
    )


class SalesPlanPut(InputSchema):
    items: list[SalesPlanIn] = Field(min_length=1, max_length=1000)


class SalesPlanOut(Schema):
    id: int
    period: date
    employee_id: int | None
    product_group_id: int | None
    amount: MoneyOut

    @field_serializer("period")
    def _month(self, value: date) -> str:
        return value.strftime("%Y-%m")
