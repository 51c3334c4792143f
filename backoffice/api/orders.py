"""``/orders``: the journal, create, read, change; state, payments, shipments, invoices."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from backoffice.api.deps import Page, Session, context
from backoffice.api.schemas.catalog import MAX_ID
from backoffice.api.schemas.orders import (
    InvoiceCreate,
    InvoiceOut,
    OrderCreate,
    OrderList,
    OrderOut,
    OrderUpdate,
    PaymentCreate,
    PaymentOut,
    RefundCreate,
    ShipmentCreate,
    ShipmentOut,
    StateChange,
    invoice_out,
    order_out,
)
from backoffice.api.schemas_common import HistoryOut, ListOf
from crm_core.analytics.periods import day_start
from crm_core.context import now
from crm_core.invoices import service as invoices
from crm_core.models import OrderIndicator
from crm_core.orders import service
from crm_core.orders.lines import LineInput

router = APIRouter(tags=["orders"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def _lines(lines) -> list[LineInput]:
    return [
        LineInput(
            product_id=x.product_id,
            quantity=x.quantity,
            price=x.price,
            discount_percent=x.discount_percent,
            name=x.name,
        )
        for x in lines
    ]


@router.get("/orders", response_model=OrderList)
async def list_orders(
    request: Request,
    session: Session,
    page: Page,
    state: Annotated[str | None, Query(max_length=50, description="state id or code")] = None,
    kind_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    responsible_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    indicator: OrderIndicator | None = None,
    date_from: Annotated[date | None, Query(description="first day, firm's time zone")] = None,
    date_to: Annotated[date | None, Query(description="last day (inclusive)")] = None,
    q: Annotated[str | None, Query(max_length=100, description="order number")] = None,
) -> OrderList:
    tz = context(request).timezone
    state_id = int(state) if state and state.isdigit() else None
    items, total = await service.list_orders(
        session,
        state_id=state_id,
        state_code=state if state and state_id is None else None,
        kind_id=kind_id,
        customer_id=customer_id,
        responsible_id=responsible_id,
        indicator=indicator,
        date_from=day_start(date_from, tz) if date_from else None,
        date_to=day_start(date_to.fromordinal(date_to.toordinal() + 1), tz) if date_to else None,
        q=q,
        limit=page.limit,
        offset=page.offset,
    )
    at = now(session)
    return OrderList(
        items=[order_out(o, at, with_lines=False) for o in items],
        total=total,
        total_is_capped=total >= service.COUNT_CAP,
    )


@router.post("/orders", response_model=OrderOut, status_code=201)
async def create_order(body: OrderCreate, request: Request, session: Session) -> OrderOut:
    fields = body.model_dump(exclude={"lines"})
    order = await service.create_order(
        session, lines=_lines(body.lines), timezone=context(request).timezone, **fields
    )
    return order_out(await service.get_order(session, order.id), now(session))


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(order_id: IdPath, session: Session) -> OrderOut:
    return order_out(await service.get_order(session, order_id), now(session))


@router.patch("/orders/{order_id}", response_model=OrderOut)
async def update_order(order_id: IdPath, body: OrderUpdate, session: Session) -> OrderOut:
    fields = body.model_dump(exclude_unset=True, exclude={"lines"})
    if body.lines is not None:
        fields["lines"] = _lines(body.lines)
    order = await service.update_order(session, order_id, **fields)
    return order_out(order, now(session))


@router.post("/orders/{order_id}/state", response_model=OrderOut)
async def change_state(order_id: IdPath, body: StateChange, session: Session) -> OrderOut:
    order = await service.change_order_state(
        session, order_id, state_id=body.state_id, state_code=body.state
    )
    return order_out(order, now(session))


@router.post(
    "/orders/{order_id}/payments",
    response_model=PaymentOut,
    status_code=201,
    responses={200: {"description": "this external_id was already recorded"}},
)
async def register_payment(
    order_id: IdPath, body: PaymentCreate, session: Session, response: Response
) -> PaymentOut:
    payment, created = await service.register_payment(session, order_id, **body.model_dump())
    if not created:
        response.status_code = 200
    return PaymentOut.model_validate(payment)


@router.post(
    "/orders/{order_id}/refunds",
    response_model=PaymentOut,
    status_code=201,
    responses={200: {"description": "this external_id was already recorded"}},
)
async def register_refund(
    order_id: IdPath, body: RefundCreate, session: Session, response: Response
) -> PaymentOut:
    """Money back to the customer: a payment row with a negative amount."""
    refund, created = await service.register_refund(session, order_id, **body.model_dump())
    if not created:
        response.status_code = 200
    return PaymentOut.model_validate(refund)


@router.get("/orders/{order_id}/payments", response_model=ListOf[PaymentOut])
async def list_payments(order_id: IdPath, session: Session, page: Page):
    items, total = await service.list_payments(
        session, order_id, limit=page.limit, offset=page.offset
    )
    return ListOf[PaymentOut](items=[PaymentOut.model_validate(p) for p in items], total=total)


@router.post("/orders/{order_id}/shipments", response_model=ShipmentOut, status_code=201)
async def register_shipment(order_id: IdPath, body: ShipmentCreate, session: Session):
    lines = None
    if body.lines is not None:
        lines = [(x.order_line_id, x.quantity) for x in body.lines]
    shipment = await service.register_shipment(
        session,
        order_id,
        lines=lines,
        external_id=body.external_id,
        shipped_at=body.shipped_at,
        comment=body.comment,
    )
    return ShipmentOut.model_validate(shipment)


@router.get("/orders/{order_id}/shipments", response_model=ListOf[ShipmentOut])
async def list_shipments(order_id: IdPath, session: Session, page: Page):
    items, total = await service.list_shipments(
        session, order_id, limit=page.limit, offset=page.offset
    )
    return ListOf[ShipmentOut](items=[ShipmentOut.model_validate(s) for s in items], total=total)


@router.post("/orders/{order_id}/invoices", response_model=InvoiceOut, status_code=201)
async def create_invoice(
    order_id: IdPath, body: InvoiceCreate, request: Request, session: Session
) -> InvoiceOut:
    invoice = await invoices.create_invoice(
        session, order_id, timezone=context(request).timezone, **body.model_dump()
    )
    paid = await invoices.invoice_paid(session, invoice)
    return invoice_out(invoice, paid.status, paid.paid_amount)


@router.get("/orders/{order_id}/invoices", response_model=ListOf[InvoiceOut])
async def list_invoices(order_id: IdPath, session: Session, page: Page):
    items, total = await invoices.list_invoices(
        session, order_id, limit=page.limit, offset=page.offset
    )
    outs = []
    for invoice in items:
        paid = await invoices.invoice_paid(session, invoice)
        outs.append(invoice_out(invoice, paid.status, paid.paid_amount))
    return ListOf[InvoiceOut](items=outs, total=total)


@router.get("/orders/{order_id}/history", response_model=ListOf[HistoryOut])
async def order_history(order_id: IdPath, session: Session, page: Page):
    items, total = await service.order_history(
        session, order_id, limit=page.limit, offset=page.offset
    )
    return ListOf[HistoryOut](items=[HistoryOut.model_validate(h) for h in items], total=total)
