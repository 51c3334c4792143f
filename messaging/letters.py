"""Single sends: one rendered letter (optionally with its PDF) to one customer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import ValidationFailed
from crm_core.events.service import create_event
from crm_core.models import Direction, Event, EventKind, EventState, TemplateKind
from messaging.context import build_context
from messaging.documents import render_document_pdf
from messaging.email import Attachment, EmailTransport, OutgoingEmail
from messaging.templates import get_template, render_with

PDF_KINDS = (TemplateKind.OFFER, TemplateKind.CONTRACT)
DOCUMENT_TITLES = {TemplateKind.OFFER: "Коммерческое предложение", TemplateKind.CONTRACT: "Договор"}


async def send_letter(
    session: AsyncSession,
    transport: EmailTransport,
    *,
    customer_id: int,
    template_id: int,
    order_id: int | None = None,
    attach_pdf: bool = False,
) -> Event:
    """Render a template for a customer, mail it, and put an ``email`` event with the
    delivery status on the customer's card.

    The mail leaves before the caller commits: if the transaction then fails, the
    letter is out but the event is lost. A single send is a manager's click, so
    that is accepted; campaigns use delivery rows instead.
    """
    template = await get_template(session, template_id)
    if not template.kind.is_html:
        raise ValidationFailed(
            f"A {template.kind} template cannot be sent as a letter", field="template_id"
        )
    context = await build_context(session, customer_id=customer_id, order_id=order_id)
    address = context["customer"]["email"]
    if not address:
        raise ValidationFailed("The customer has no email address", field="customer_id")
    rendered = render_with(template, context)
    email = OutgoingEmail(
        to=address, subject=rendered.subject, text=rendered.text, html=rendered.html
    )
    if attach_pdf:
        if template.kind not in PDF_KINDS:
            raise ValidationFailed("Only offers and contracts have a PDF", field="attach_pdf")
        title = DOCUMENT_TITLES[template.kind]
        if context["order"]:
            title += f" к заказу № {context['order']['number']}"
        pdf = render_document_pdf(title, rendered.html or "", context["firm"])
        email.attachments.append(Attachment(f"{template.kind}.pdf", pdf))
    result = await transport.send(email)
    return await create_event(
        session,
        kind=EventKind.EMAIL,
        state=EventState.COMPLETED if result.ok else EventState.CANCELLED,
        direction=Direction.OUTGOING,
        subject=rendered.subject[:300],
        body=rendered.text,
        customer_id=customer_id,
        order_id=order_id,
        data={
            "delivery_status": "sent" if result.ok else "failed",
            "to": address,
            "message_id": result.message_id,
            "detail": result.detail[:1000],
            "template_id": template.id,
            "attachments": [a.filename for a in email.attachments],
        },
    )
