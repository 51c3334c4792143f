"""Writing to one customer from the card: a template picked as ``<channel>:<id>`` is
sent through messaging's single-send functions over a transport made for this click."""

from __future__ import annotations

from backoffice.office.context import Staff
from crm_core.errors import ValidationFailed
from crm_core.models import Channel, Event
from messaging.email import create_email_transport
from messaging.letters import send_letter
from messaging.single import send_sms, send_telegram
from messaging.sms import create_sms_provider
from messaging.telegram import TelegramSender


def parse_choice(value: str, staff: Staff) -> tuple[Channel, int]:
    channel, _sep, number = (value or "").partition(":")
    if channel not in {c.value for c in Channel} or not number.isdigit():
        raise ValidationFailed(staff._("Pick a template"), field="template")
    if not 0 < int(number) < 2**31:
        raise ValidationFailed(staff._("Pick a template"), field="template")
    return Channel(channel), int(number)


async def send_from_template(staff: Staff, customer_id: int, choice: str) -> Event:
    """Send and record; a refusal (no address, wrong template kind, no bot) is raised
    as ValidationFailed before anything leaves."""
    channel, template_id = parse_choice(choice, staff)
    config = staff.ctx.messaging
    if config is None:
        raise ValidationFailed(staff._("Messaging is not configured"), field="template")
    session = staff.session
    if channel is Channel.EMAIL:
        transport = create_email_transport(config)
        try:
            return await send_letter(
                session, transport, customer_id=customer_id, template_id=template_id
            )
        finally:
            await transport.close()
    if channel is Channel.SMS:
        provider = create_sms_provider(config.sms)
        try:
            return await send_sms(
                session, provider, customer_id=customer_id, template_id=template_id
            )
        finally:
            await provider.close()
    if config.telegram is None:
        raise ValidationFailed(staff._("The Telegram bot is not configured"), field="template")
    sender = TelegramSender(config.telegram)
    try:
        return await send_telegram(
            session, sender, customer_id=customer_id, template_id=template_id
        )
    finally:
        await sender.close()
