"""Email over a real SMTP server (aiosmtpd on 127.0.0.1), and single sends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import ValidationFailed
from crm_core.models import Event, EventKind
from crm_core.orders.service import LineInput
from messaging.email import (
    Attachment,
    LogTransport,
    OutgoingEmail,
    SmtpTransport,
    create_email_transport,
)
from messaging.letters import send_letter
from messaging.templates import create_template
from tests.factories.commerce import make_order
from tests.factories.people import make_customer


async def test_smtp_sends_multipart_with_headers_and_attachment(smtp_sink, mail_config) -> None:
    sink, _port = smtp_sink
    transport = create_email_transport(mail_config)
    assert isinstance(transport, SmtpTransport)
    try:
        for n in range(3):  # several messages over one reused connection
            result = await transport.send(
                OutgoingEmail(
                    to=f"client{n}@example.com",
                    subject="Привет, мир",
                    text="Текст письма",
                    html="<p>Текст <b>письма</b></p>",
                    message_id=f"<m{n}@romashka.example>",
                    headers={"List-Unsubscribe": "<https://x/u/1>"},
                    attachments=[Attachment("offer.pdf", b"%PDF-1.4 test")],
                )
            )
            assert result.ok, result.detail
    finally:
        await transport.close()
    assert [m["Message-ID"] for m in sink.messages] == [
        f"<m{n}@romashka.example>" for n in range(3)
    ]
    message = sink.messages[0]
    assert message["Subject"] == "Привет, мир"
    assert message["From"] == "ООО Ромашка <sales@romashka.example>"
    assert message["Reply-To"] == "manager@romashka.example"
    assert message["Date"] and message["List-Unsubscribe"] == "<https://x/u/1>"
    assert message.get_body(("plain",)).get_content().strip() == "Текст письма"
    assert "<b>письма</b>" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "offer.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


async def test_smtp_answers_permanent_and_transient_failures(smtp_sink, mail_config) -> None:
    transport = SmtpTransport(mail_config)
    try:
        bad = await transport.send(OutgoingEmail(to="bad@example.com", subject="s", text="t"))
        busy = await transport.send(OutgoingEmail(to="busy@example.com", subject="s", text="t"))
        good = await transport.send(OutgoingEmail(to="ok@example.com", subject="s", text="t"))
    finally:
        await transport.close()
    assert not bad.ok and bad.permanent and "550" in bad.detail
    assert not busy.ok and not busy.permanent and "451" in busy.detail
    assert good.ok


async def test_smtp_server_down_is_a_transient_failure(mail_config) -> None:
    from dataclasses import replace

    config = replace(mail_config, smtp=replace(mail_config.smtp, port=1))
    result = await SmtpTransport(config).send(
        OutgoingEmail(to="a@b.example", subject="s", text="t")
    )
    assert not result.ok and not result.permanent


async def test_send_letter_with_pdf_records_an_email_event(session, smtp_sink, mail_config) -> None:
    sink, _port = smtp_sink
    customer = await make_customer(session, name="ООО Клиент", emails=["client@example.com"])
    order = await make_order(
        session,
        customer=customer,
        lines=[LineInput(None, Decimal(1), Decimal("1250"), name="Стол")],
    )
    template = await create_template(
        session,
        kind="offer",
        name="КП",
        subject="Коммерческое предложение",
        body="<p>Уважаемый {{ customer.name }}!</p><p>Сумма: {{ order.total | money }}</p>",
    )
    transport = SmtpTransport(mail_config)
    try:
        event = await send_letter(
            session,
            transport,
            customer_id=customer.id,
            template_id=template.id,
            order_id=order.id,
            attach_pdf=True,
        )
    finally:
        await transport.close()
    [message] = sink.messages
    assert sink.envelopes[0][1] == ["client@example.com"]
    assert "Сумма: 1 250,00 ₽" in message.get_body(("plain",)).get_content()
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")
    stored = await session.scalar(select(Event).where(Event.customer_id == customer.id))
    assert stored.id == event.id and stored.kind == EventKind.EMAIL
    assert stored.data["delivery_status"] == "sent"
    assert stored.data["message_id"] == message["Message-ID"]


async def test_send_letter_failure_is_recorded_and_no_email_refused(
    session, smtp_sink, mail_config
) -> None:
    template = await create_template(session, kind="letter", name="L", subject="S", body="<p>x</p>")
    nobody = await make_customer(session)
    with pytest.raises(ValidationFailed, match="no email"):
        await send_letter(
            session, LogTransport(mail_config), customer_id=nobody.id, template_id=template.id
        )
    customer = await make_customer(session, emails=["bad@example.com"])
    transport = SmtpTransport(mail_config)
    try:
        event = await send_letter(
            session, transport, customer_id=customer.id, template_id=template.id
        )
    finally:
        await transport.close()
    assert event.data["delivery_status"] == "failed" and "550" in event.data["detail"]
    assert event.state == "cancelled"
