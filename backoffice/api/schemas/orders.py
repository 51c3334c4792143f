"""Shapes of order kinds and states, orders, payments, shipments and invoices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from backoffice.api.schemas.catalog import Id, MoneyIn, QuantityIn
from backoffice.api.schemas_common import InputSchema, MoneyOut, QuantityOut, Schema
from crm_core.models import (
    Invoice,
    Order,
    OrderIndicator,
    OrderKind,
    PaymentMethod,
    StateCategory,
)
from crm_core.orders.service import indicator_of, paid_percent, shipped_percent

Percent = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2, allow_inf_nan=False)
]
Code = Annotated[str, Field(min_length=1, max_length=50)]


# ---------------------------------------------------------------- kinds and states


class StateIn(InputSchema):
    code: Code | None = None
    name: str = Field(min_length=1, max_length=100)
    category: StateCategory = StateCategory.OPEN
    is_initial: bool = False
    active: bool = True


class StateCreate(StateIn):
    position: int | None = Field(None, ge=0, le=1000, description="index; the end if omitted")


class StateUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    category: StateCategory | None = None
    is_initial: bool | None = None
    active: bool | None = None
    position: int | None = Field(None, ge=0, le=1000)


class StateOrder(InputSchema):
    state_ids: list[Id] = Field(min_length=1, max_length=200)


class StateOut(Schema):
    id: int
    code: str
    name: str
    category: StateCategory
    position: int
    is_initial: bool
    active: bool


class OrderKindCreate(InputSchema):
    code: Code
    name: str = Field(min_length=1, max_length=100)
    is_default: bool = False
    states: list[StateIn] | None = Field(
        None, max_length=200, description="in order; the standard states if omitted"
    )


class OrderKindUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    is_default: bool | None = None
    active: bool | None = None
    state_order: list[Id] | None = Field(None, max_length=200, description="state ids in order")


class OrderKindOut(Schema):
    id: int
    code: str
    name: str
    is_default: bool
    active: bool
    states: list[StateOut]

    @classmethod
    def of(cls, kind: OrderKind) -> OrderKindOut:
        return cls.model_validate(kind)


# ---------------------------------------------------------------- orders


class LineIn(InputSchema):
    product_id: Id | None = None
    name: str | None = Field(None, max_length=300, description="needed without a product")
    quantity: QuantityIn = Field(gt=0)
    price: MoneyIn | None = Field(None, description="the price kind's price if omitted")
    discount_percent: Percent = Decimal(0)


class OrderCreate(InputSchema):
    customer_id: Id
    kind_id: Id | None = None
    lines: list[LineIn] = Field(default_factory=list, max_length=1000)
    due_at: AwareDatetime | None = None
    channel: str = Field("manual", min_length=1, max_length=30)
    responsible_id: Id | None = None
    comment: str | None = Field(None, max_length=10000)
    price_kind_id: Id | None = None
    external_id: str | None = Field(None, max_length=100)
    delivery_address: str | None = Field(None, max_length=500)
    date: AwareDatetime | None = None


class OrderUpdate(InputSchema):
    due_at: AwareDatetime | None = None
    comment: str | None = Field(None, max_length=10000)
    responsible_id: Id | None = None
    delivery_address: str | None = Field(None, max_length=500)
    price_kind_id: Id | None = None
    lines: list[LineIn] | None = Field(
        None, max_length=1000, description="replaces every line (before any shipment)"
    )


class StateChange(InputSchema):
    state_id: Id | None = None
    state: Code | None = Field(None, description="state code within the order's kind")

    @model_validator(mode="after")
    def _one(self) -> StateChange:
        if (self.state_id is None) == (self.state is None):
            raise ValueError("give either state_id or state")
        return self


class StateRef(Schema):
    id: int
    code: str
    name: str
    category: StateCategory


class LineOut(Schema):
    id: int
    product_id: int | None
    name: str
    unit: str
    quantity: QuantityOut
    price: MoneyOut
    discount_percent: Decimal
    vat_rate: Decimal | None
    amount: MoneyOut
    vat_amount: MoneyOut
    shipped_quantity: QuantityOut


class OrderOut(Schema):
    id: int
    number: str
    date: datetime
    customer_id: int
    kind_id: int
    state: StateRef
    total: MoneyOut
    vat_amount: MoneyOut
    paid_amount: MoneyOut
    shipped_amount: MoneyOut
    shipped_percent: int
    paid_percent: int
    indicator: OrderIndicator
    due_at: datetime | None
    channel: str
    responsible_id: int | None
    comment: str | None
    price_kind_id: int | None
    delivery_address: str | None
    external_id: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[LineOut] | None = Field(None, description="in a single order; not in lists")


class OrderList(Schema):
    items: list[OrderOut]
    total: int
    total_is_capped: bool = Field(
        False, description="true: at least `total` orders match (counting stops there)"
    )


def order_out(order: Order, now: datetime, *, with_lines: bool = True) -> OrderOut:
    """The read shape; needs the state loaded (and the lines when ``with_lines``)."""
    return OrderOut(
        id=order.id,
        number=order.number,
        date=order.date,
        customer_id=order.customer_id,
        kind_id=order.kind_id,
        state=StateRef.model_validate(order.state),
        total=order.total,
        vat_amount=order.vat_amount,
        paid_amount=order.paid_amount,
        shipped_amount=order.shipped_amount,
        shipped_percent=shipped_percent(order),
        paid_percent=paid_percent(order),
        indicator=indicator_of(order, now),
        due_at=order.due_at,
        channel=order.channel,
        responsible_id=order.responsible_id,
        comment=order.comment,
        price_kind_id=order.price_kind_id,
        delivery_address=order.delivery_address,
        external_id=order.external_id,
        closed_at=order.closed_at,
        created_at=order.created_at,
        updated_at=order.updated_at,
        lines=[LineOut.model_validate(x) for x in order.lines] if with_lines else None,
    )


# ---------------------------------------------------------------- payments, shipments


class PaymentCreate(InputSchema):
    amount: MoneyIn = Field(gt=0)
    method: PaymentMethod
    external_id: str | None = Field(None, max_length=200)
    paid_at: AwareDatetime | None = None
    invoice_id: Id | None = None
    comment: str | None = Field(None, max_length=500)


class RefundCreate(InputSchema):
    amount: MoneyIn = Field(gt=0)
    method: PaymentMethod | None = None  # default: the method of the last payment
    external_id: str | None = Field(None, max_length=200)
    refunded_at: AwareDatetime | None = None
    comment: str | None = Field(None, max_length=500)


class PaymentOut(Schema):
    id: int
    order_id: int
    invoice_id: int | None
    amount: MoneyOut
    method: PaymentMethod
    external_id: str | None
    paid_at: datetime
    comment: str | None
    created_at: datetime


class ShipmentLineIn(InputSchema):
    order_line_id: Id
    quantity: QuantityIn = Field(gt=0)


class ShipmentCreate(InputSchema):
    lines: list[ShipmentLineIn] | None = Field(
        None, max_length=1000, description="everything left to ship if omitted"
    )
    external_id: str | None = Field(None, max_length=200)
    shipped_at: AwareDatetime | None = None
    comment: str | None = Field(None, max_length=500)


class ShipmentLineOut(Schema):
    id: int
    order_line_id: int
    quantity: QuantityOut
    amount: MoneyOut


class ShipmentOut(Schema):
    id: int
    order_id: int
    amount: MoneyOut
    external_id: str | None
    shipped_at: datetime
    comment: str | None
    created_at: datetime
    lines: list[ShipmentLineOut]


# ---------------------------------------------------------------- invoices


class InvoiceCreate(InputSchema):
    due_at: AwareDatetime | None = None
    amount: MoneyIn | None = Field(
        None,
        gt=0,
        description="part of the order (e.g. a prepayment); all that is unpaid if omitted",
    )
    comment: str | None = Field(None, max_length=500)


class InvoiceLineOut(Schema):
    id: int
    product_id: int | None
    name: str
    unit: str
    quantity: QuantityOut
    price: MoneyOut
    discount_percent: Decimal
    vat_rate: Decimal | None
    amount: MoneyOut


class InvoiceOut(Schema):
    id: int
    number: str
    date: datetime
    order_id: int
    customer_id: int
    total: MoneyOut
    vat_amount: MoneyOut
    due_at: datetime | None
    comment: str | None
    status: str = Field(description="paid, partially_paid or unpaid")
    paid_amount: MoneyOut = Field(description="payments linked to this invoice")
    pdf_url: str
    created_at: datetime
    lines: list[InvoiceLineOut]


def invoice_out(invoice: Invoice, status: str, paid_amount: Decimal) -> InvoiceOut:
    return InvoiceOut(
        id=invoice.id,
        number=invoice.number,
        date=invoice.date,
        order_id=invoice.order_id,
        customer_id=invoice.customer_id,
        total=invoice.total,
        vat_amount=invoice.vat_amount,
        due_at=invoice.due_at,
        comment=invoice.comment,
        status=status,
        paid_amount=paid_amount,
        pdf_url=f"/api/v1/invoices/{invoice.id}.pdf",
        created_at=invoice.created_at,
        lines=[InvoiceLineOut.model_validate(x) for x in invoice.lines],
    )
