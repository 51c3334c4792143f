"""The order card ``/office/orders/{id}``: header, state, lines, payments, shipments,
invoices (and their PDF at ``/office/invoices/{id}.pdf``). Every action is a plain form
post answered by a redirect; a refusal re-renders the card with the message."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pages.orders import pictograms
from backoffice.office.pages.typed_input import (
    MAX_ID,
    decimal_value,
    local_datetime,
    optional_id,
)
from backoffice.office.templating import render
from crm_core.catalog.service import list_price_kinds, list_products
from crm_core.context import now
from crm_core.customers.service import get_customer
from crm_core.employees.service import list_employees
from crm_core.errors import Conflict, DomainError, ValidationFailed
from crm_core.invoices.firm import get_firm
from crm_core.invoices.pdf import render_invoice_pdf
from crm_core.invoices.service import create_invoice, get_invoice, invoice_paid, list_invoices
from crm_core.lookup import get_or_404
from crm_core.models import Customer, Order, PaymentMethod
from crm_core.orders.kinds import get_order_kind
from crm_core.orders.service import (
    LineInput,
    add_order_line,
    change_order_state,
    get_order,
    list_payments,
    list_shipments,
    register_payment,
    register_refund,
    register_shipment,
    remove_order_line,
    update_order,
)

router = APIRouter()
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]
METHODS = {
    "bank": N_("Bank transfer"),
    "cash": N_("Cash"),
    "card": N_("Card"),
    "online": N_("Online"),
    "telegram": N_("Telegram"),
}


async def card(
    staff,
    order_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    choices=(),
    status_code: int = 200,
    notice: str = "",
) -> Response:
    """Render the order card (also after a refused action, with ``errors``)."""
    session = staff.session
    order = await get_order(session, order_id)
    kind = await get_order_kind(session, order.kind_id)
    customer = await get_customer(session, order.customer_id)
    employees, _total = await list_employees(session, limit=500, active=True)
    payments, _n = await list_payments(session, order_id)
    shipments, _n = await list_shipments(session, order_id)
    invoices, _n = await list_invoices(session, order_id)
    paid_status = {i.id: (await invoice_paid(session, i)).status for i in invoices}
    price_kinds = await list_price_kinds(session)
    return render(
        staff,
        "pages/order.html",
        status_code=status_code,
        section="orders",
        notice=notice,
        order=order,
        kind=kind,
        states=[s for s in kind.states if s.active or s.id == order.state_id],
        customer=customer,
        employees=employees,
        responsible=next((e for e in employees if e.id == order.responsible_id), None),
        payments=payments,
        shipments=shipments,
        invoices=invoices,
        invoice_status=paid_status,
        price_kinds=price_kinds,
        price_kind=next((k for k in price_kinds if k.id == order.price_kind_id), None),
        methods=METHODS,
        left_to_pay=order.total - order.paid_amount,
        editable=order.category == "open",
        payment_key=secrets.token_hex(8),
        refund_key=secrets.token_hex(8),
        refundable=order.category != "cancelled" and order.paid_amount > 0,
        errors=errors or {},
        values=values or {},
        choices=choices,
        **pictograms(staff, order, now(session)),
    )


def _error(staff, exc: DomainError, default: str) -> dict[str, str]:
    return {default if not exc.field else exc.field.split(".")[-1]: staff._(exc.message)}


@router.get("/orders/{order_id}")
async def show(order_id: OrderId, staff: StaffDep, saved: str = "") -> Response:
    notice = staff._("Saved.") if saved else ""
    return await card(staff, order_id, notice=notice)


def _back(order_id: int, anchor: str = "") -> Response:
    return RedirectResponse(f"/office/orders/{order_id}?saved=1{anchor}", status_code=303)


@router.post("/orders/{order_id}")
async def save_header(
    order_id: OrderId,
    staff: StaffDep,
    due_at: str = Form("", max_length=40),
    responsible_id: str = Form("", max_length=20),
    price_kind_id: str = Form("", max_length=20),
    comment: str = Form("", max_length=10000),
    delivery_address: str = Form("", max_length=500),
) -> Response:
    try:
        async with staff.attempt():
            await update_order(
                staff.session,
                order_id,
                due_at=local_datetime(due_at, staff.tz, "due_at"),
                responsible_id=optional_id(responsible_id, "responsible_id"),
                price_kind_id=optional_id(price_kind_id, "price_kind_id"),
                comment=comment,
                delivery_address=delivery_address,
            )
    except (ValidationFailed, Conflict) as exc:
        return await card(staff, order_id, errors=_error(staff, exc, "header"), status_code=422)
    return _back(order_id)


@router.post("/orders/{order_id}/state")
async def change_state(
    order_id: OrderId, staff: StaffDep, state_id: str = Form("", max_length=20)
) -> Response:
    try:
        async with staff.attempt():
            await change_order_state(
                staff.session, order_id, state_id=optional_id(state_id, "state_id") or 0
            )
    except (ValidationFailed, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return await card(
            staff, order_id, errors={"state": staff._(exc.message)}, status_code=status
        )
    return _back(order_id)


@router.post("/orders/{order_id}/lines")
async def add_line(
    order_id: OrderId,
    staff: StaffDep,
    product_id: str = Form("", max_length=20),
    product: str = Form("", max_length=300),
    name: str = Form("", max_length=300),
    quantity: str = Form("1", max_length=40),
    price: str = Form("", max_length=40),
    discount: str = Form("", max_length=40),
) -> Response:
    _ = staff._
    values = {
        "product_id": product_id,
        "product": product,
        "name": name,
        "quantity": quantity,
        "price": price,
        "discount": discount,
    }
    try:
        chosen = optional_id(product_id, "product")
        if chosen is None and product.strip():
            found, _total = await list_products(
                staff.session, q=product.strip(), active=True, limit=20
            )
            exact = [p for p in found if product.strip() in (p.sku, p.name)]
            if len(exact) == 1 or len(found) == 1:
                chosen = (exact or found)[0].id
            else:
                message = (
                    N_("Several products match: pick one")
                    if found
                    else N_("No product matches: check the name or SKU")
                )
                return await card(
                    staff,
                    order_id,
                    errors={"product": _(message)},
                    values=values,
                    choices=found,
                    status_code=422,
                )
        if chosen is None and not name.strip():
            raise ValidationFailed(N_("Pick a product or name the line"), field="product")
        line = LineInput(
            product_id=chosen,
            quantity=decimal_value(quantity, "quantity"),
            price=decimal_value(price, "price", required=False),
            discount_percent=decimal_value(discount, "discount", required=False) or Decimal(0),
            name=name or None,
        )
        async with staff.attempt():
            await add_order_line(staff.session, order_id, line)
    except (ValidationFailed, Conflict) as exc:
        field = (exc.field or "product").split(".")[-1]
        field = {"discount_percent": "discount", "product_id": "product"}.get(field, field)
        return await card(
            staff, order_id, errors={field: _(exc.message)}, values=values, status_code=422
        )
    return _back(order_id, "#lines")


@router.post("/orders/{order_id}/lines/save")
async def save_lines(order_id: OrderId, request: Request, staff: StaffDep) -> Response:
    """Quantities and discounts of every line at once (the core recomputes the totals)."""
    form = await request.form()
    order = await get_order(staff.session, order_id)
    try:
        lines = [
            LineInput(
                product_id=line.product_id,
                quantity=decimal_value(str(form.get(f"qty_{line.id}", "")), "quantity"),
                price=decimal_value(str(form.get(f"price_{line.id}", "")), "price"),
                discount_percent=decimal_value(
                    str(form.get(f"discount_{line.id}", "")), "discount", required=False
                )
                or Decimal(0),
                name=line.name,
            )
            for line in order.lines
        ]
        async with staff.attempt():
            await update_order(staff.session, order_id, lines=lines)
    except (ValidationFailed, Conflict) as exc:
        return await card(staff, order_id, errors={"lines": staff._(exc.message)}, status_code=422)
    return _back(order_id, "#lines")


@router.post("/orders/{order_id}/lines/{line_id}/delete")
async def delete_line(order_id: OrderId, line_id: OrderId, staff: StaffDep) -> Response:
    try:
        async with staff.attempt():
            await remove_order_line(staff.session, order_id, line_id)
    except Conflict as exc:
        return await card(staff, order_id, errors={"lines": staff._(exc.message)}, status_code=409)
    return _back(order_id, "#lines")


@router.post("/orders/{order_id}/payments")
async def pay(
    order_id: OrderId,
    staff: StaffDep,
    amount: str = Form("", max_length=40),
    method: str = Form("bank", max_length=20),
    paid_at: str = Form("", max_length=40),
    comment: str = Form("", max_length=500),
    key: str = Form("", max_length=40),
) -> Response:
    values = {"amount": amount, "method": method, "paid_at": paid_at, "comment": comment}
    try:
        if method not in {m.value for m in PaymentMethod}:
            raise ValidationFailed(N_("Pick a payment method"), field="method")
        async with staff.attempt():
            # The form's one-time key makes a double click record one payment.
            await register_payment(
                staff.session,
                order_id,
                amount=decimal_value(amount, "amount"),
                method=method,
                paid_at=local_datetime(paid_at, staff.tz, "paid_at"),
                comment=comment,
                external_id=f"office:{order_id}:{key}" if key.isalnum() else None,
            )
    except (ValidationFailed, Conflict) as exc:
        return await card(
            staff, order_id, errors=_error(staff, exc, "amount"), values=values, status_code=422
        )
    return _back(order_id, "#payments")


@router.post("/orders/{order_id}/refunds")
async def refund(
    order_id: OrderId,
    staff: StaffDep,
    amount: str = Form("", max_length=40),
    comment: str = Form("", max_length=500),
    key: str = Form("", max_length=40),
) -> Response:
    """Give money back (never more than paid); it shows as a negative payment."""
    values = {"refund_amount": amount, "refund_comment": comment, "refund_key": key}
    try:
        if not comment.strip():
            raise ValidationFailed(N_("Say why the money is returned"), field="comment")
        async with staff.attempt():
            # The form's one-time key: a double click or a re-sent form refunds once.
            await register_refund(
                staff.session,
                order_id,
                amount=decimal_value(amount, "amount"),
                comment=comment,
                external_id=f"office-refund:{order_id}:{key}" if key.isalnum() else None,
            )
    except (ValidationFailed, Conflict) as exc:
        field = "refund_comment" if exc.field == "comment" else "refund_amount"
        errors = {field: staff._(exc.message)}
        return await card(staff, order_id, errors=errors, values=values, status_code=422)
    return _back(order_id, "#payments")


@router.post("/orders/{order_id}/shipments")
async def ship(order_id: OrderId, request: Request, staff: StaffDep) -> Response:
    """Ship the quantities typed per line, or everything left when none is typed."""
    form = await request.form()
    order = await get_order(staff.session, order_id)
    try:
        lines = []
        for line in order.lines:
            quantity = decimal_value(str(form.get(f"ship_{line.id}", "")), "ship", required=False)
            if quantity:
                lines.append((line.id, quantity))
        comment = str(form.get("comment", ""))[:500]
        async with staff.attempt():
            await register_shipment(staff.session, order_id, lines=lines or None, comment=comment)
    except (ValidationFailed, Conflict) as exc:
        return await card(staff, order_id, errors={"ship": staff._(exc.message)}, status_code=422)
    return _back(order_id, "#shipments")


@router.post("/orders/{order_id}/invoices")
async def make_invoice(
    order_id: OrderId,
    staff: StaffDep,
    amount: str = Form("", max_length=40),
) -> Response:
    try:
        async with staff.attempt():
            invoice = await create_invoice(
                staff.session,
                order_id,
                amount=decimal_value(amount, "invoice_amount", required=False),
                timezone=staff.ctx.timezone,
            )
    except (ValidationFailed, Conflict) as exc:
        return await card(
            staff, order_id, errors={"invoice": staff._(exc.message)}, status_code=422
        )
    return RedirectResponse(
        f"/office/orders/{order_id}?saved=1&invoice={invoice.id}#invoices", status_code=303
    )


@router.get("/invoices/{invoice_id}.pdf")
async def invoice_pdf(invoice_id: OrderId, staff: StaffDep) -> Response:
    """The «Счёт на оплату» PDF of the core, for a signed-in employee."""
    invoice = await get_invoice(staff.session, invoice_id)
    order = await get_or_404(staff.session, Order, invoice.order_id, what="Order")
    customer = await get_or_404(staff.session, Customer, invoice.customer_id, what="Customer")
    firm = await get_firm(staff.session)
    pdf = render_invoice_pdf(invoice, order, customer, firm, timezone=staff.ctx.timezone)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="invoice-{invoice.id}.pdf"'},
    )
