"""``/invoices``: read an invoice, or get it as a PDF «Счёт на оплату»."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from backoffice.api.deps import Session, context
from backoffice.api.schemas.catalog import MAX_ID
from backoffice.api.schemas.orders import InvoiceOut, invoice_out
from crm_core.invoices import service
from crm_core.invoices.firm import get_firm
from crm_core.invoices.pdf import render_invoice_pdf
from crm_core.lookup import get_or_404
from crm_core.models import Customer, Order

router = APIRouter(tags=["invoices"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/invoices/{invoice_id}.pdf", response_class=Response)
async def invoice_pdf(invoice_id: IdPath, request: Request, session: Session) -> Response:
    invoice = await service.get_invoice(session, invoice_id)
    order = await get_or_404(session, Order, invoice.order_id, what="Order")
    customer = await get_or_404(session, Customer, invoice.customer_id, what="Customer")
    firm = await get_firm(session)
    pdf = render_invoice_pdf(invoice, order, customer, firm, timezone=context(request).timezone)
    filename = f"invoice-{invoice.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(invoice_id: IdPath, session: Session) -> InvoiceOut:
    invoice = await service.get_invoice(session, invoice_id)
    paid = await service.invoice_paid(session, invoice)
    return invoice_out(invoice, paid.status, paid.paid_amount)
