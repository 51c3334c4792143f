"""What a campaign message is on each channel: the rendered template plus what the
law and the channel demand — an unsubscribe link and List-Unsubscribe headers in
mail, an opt-out hint in an SMS, a stop button under a Telegram message."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from crm_core.models import Channel, Template
from messaging.config import MessagingConfig
from messaging.email import EmailTransport, OutgoingEmail, mail_domain
from messaging.i18n import catalog
from messaging.outcome import SendResult
from messaging.sms import SmsProvider, count_segments
from messaging.templates import render_with
from messaging.unsubscribe import make_token, unsubscribe_url

if TYPE_CHECKING:  # aiogram is a heavy import: only workers that send to Telegram pay it
    from messaging.telegram import TelegramSender


def campaign_message_id(config: MessagingConfig, campaign_id: int, customer_id: int) -> str:
    """The same id on every attempt for this recipient; unguessable across firms."""
    tag = hmac.new(
        config.secret_key.encode(), f"mid:{campaign_id}:{customer_id}".encode(), hashlib.sha256
    ).hexdigest()[:12]
    return f"<campaign-{campaign_id}.{customer_id}.{tag}@{mail_domain(config.mail_from)}>"


class ChannelSenders:
    """Sends one campaign row by its channel; a channel without a transport is not
    served by this worker (its rows are never claimed here)."""

    def __init__(
        self,
        config: MessagingConfig,
        *,
        email: EmailTransport | None = None,
        sms: SmsProvider | None = None,
        telegram: TelegramSender | None = None,
    ) -> None:
        self.config = config
        self.email, self.sms, self.telegram = email, sms, telegram

    def serves(self, channel: Channel) -> bool:
        return {Channel.EMAIL: self.email, Channel.SMS: self.sms, Channel.TELEGRAM: self.telegram}[
            Channel(channel)
        ] is not None

    async def send(
        self, channel: Channel, campaign_id: int, template: Template, row: Any, context: dict
    ) -> SendResult:
        token = make_token(
            self.config.secret_key,
            customer_id=row.customer_id,
            channel=channel,
            campaign_id=campaign_id,
        )
        link = unsubscribe_url(self.config.public_url, token)
        context["unsubscribe_url"] = link
        message_id = campaign_message_id(self.config, campaign_id, row.customer_id)
        try:
            rendered = render_with(template, context)
        except Exception as exc:  # a template error fails this row, not the campaign
            return SendResult(False, message_id, f"template: {exc}", permanent=True)
        _ = catalog.translator(self.config.language)
        if channel == Channel.EMAIL:
            return await self.email.send(
                OutgoingEmail(
                    to=row.address,
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                    message_id=message_id,
                    headers={
                        "List-Unsubscribe": f"<{link}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                )
            )
        if channel == Channel.SMS:
            text = rendered.text.strip() + "\n" + _("Unsubscribe: {url}", url=link)
            result = await self.sms.send(row.address, text)
            if result.ok:  # what the firm pays for
                parts = count_segments(text)
                detail = f"{parts.count} SMS ({parts.encoding}, {parts.units} chars)"
                return SendResult(True, result.message_id, detail)
            return result
        if not str(row.address).lstrip("-").isdigit():
            return SendResult(False, "", "not a Telegram chat id", permanent=True)
        from messaging.telegram import stop_markup

        markup = stop_markup(_("Unsubscribe"), token)
        return await self.telegram.send(int(row.address), rendered.text, markup=markup)

    async def close(self) -> None:
        for transport in (self.email, self.sms, self.telegram):
            if transport is not None:
                await transport.close()
