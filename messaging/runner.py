"""The campaign worker: claims pending delivery rows, sends, records each result.

Nothing lost, nothing doubled:
- A row is claimed (pending → sending, with ``claimed_at``) in a short transaction
  that commits before any mail leaves; PostgreSQL workers skip each other's rows
  (``FOR UPDATE SKIP LOCKED``), SQLite serialises writers (``BEGIN IMMEDIATE``).
- Each result is committed right after its send, so a killed worker leaves at most
  the one message it had in flight as ``sending``. When its lease runs out the row
  goes back to pending and is sent again — with the same ``Message-ID`` (derived
  from campaign and recipient), so the receiver can drop the copy.
- A row marked sent is never claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.models import Campaign, CampaignState, Channel, Delivery, DeliveryStatus, Template
from messaging.campaigns import begin_sending
from messaging.config import MessagingConfig
from messaging.context import build_context
from messaging.email import EmailTransport, OutgoingEmail, SendResult, mail_domain
from messaging.templates import render_with
from messaging.unsubscribe import make_token, unsubscribe_url

log = logging.getLogger(__name__)
D = DeliveryStatus
MAX_ATTEMPTS = 4
RETRY_BASE = timedelta(seconds=30)


def campaign_message_id(config: MessagingConfig, campaign_id: int, customer_id: int) -> str:
    """The same id on every attempt for this recipient; unguessable across firms."""
    tag = hmac.new(
        config.secret_key.encode(), f"mid:{campaign_id}:{customer_id}".encode(), hashlib.sha256
    ).hexdigest()[:12]
    return f"<campaign-{campaign_id}.{customer_id}.{tag}@{mail_domain(config.mail_from)}>"


class CampaignRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: EmailTransport,
        config: MessagingConfig,
        *,
        clock: Clock | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        idle_sleep: float = 0.5,
    ) -> None:
        self.sessions, self.transport, self.config = sessions, transport, config
        self.clock, self.batch_size, self.lease, self.idle_sleep = (
            clock,
            batch_size,
            lease,
            idle_sleep,
        )

    def _uow(self):
        return unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # one bad step must not stop every campaign for good
                log.exception("campaign step failed")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_sleep)

    async def run_once(self) -> int:
        """One pass: start due campaigns, recover lost claims, send one batch of each
        sending campaign, finish the drained ones. Returns messages handled."""
        async with self._uow() as session:
            at = now(session)
            due = await session.scalars(
                select(Campaign.id).where(
                    Campaign.state == CampaignState.SCHEDULED, Campaign.scheduled_at <= at
                )
            )
            for campaign_id in list(due):
                await begin_sending(session, campaign_id)
            await session.execute(
                update(Delivery)
                .where(Delivery.status == D.SENDING, Delivery.claimed_at < at - self.lease)
                .values(status=D.PENDING)
            )
            sending = list(
                await session.scalars(
                    select(Campaign.id).where(Campaign.state == CampaignState.SENDING)
                )
            )
        handled = 0
        for campaign_id in sending:
            handled += await self._send_batch(campaign_id)
        await self._finish_drained(sending)
        return handled

    async def _claim(self, campaign_id: int, limit: int):
        async with self._uow() as session:
            at = now(session)
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None or campaign.state != CampaignState.SENDING:
                return None, None, []
            template = await session.get(Template, campaign.template_id)
            ids = (
                select(Delivery.id)
                .where(
                    Delivery.campaign_id == campaign_id,
                    Delivery.status == D.PENDING,
                    or_(Delivery.retry_at.is_(None), Delivery.retry_at <= at),
                )
                .order_by(Delivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            claimed = await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids.scalar_subquery()))
                .values(status=D.SENDING, claimed_at=at, attempts=Delivery.attempts + 1)
                .returning(Delivery.id, Delivery.customer_id, Delivery.address, Delivery.attempts)
            )
            rows = sorted(claimed.all())
            contexts = [await build_context(session, customer_id=r.customer_id) for r in rows]
        return campaign, template, list(zip(rows, contexts, strict=True))

    async def _send_batch(self, campaign_id: int) -> int:
        probe = await self._peek_rate(campaign_id)
        if probe is None:
            return 0
        limit = min(self.batch_size, probe)
        campaign, template, batch = await self._claim(campaign_id, limit)
        if not batch:
            return 0
        interval, next_at = 1.0 / campaign.rate_per_second, time.monotonic()
        for row, context in batch:
            token = make_token(
                self.config.secret_key,
                customer_id=row.customer_id,
                channel=campaign.channel,
                campaign_id=campaign.id,
            )
            link = unsubscribe_url(self.config.public_url, token)
            context["unsubscribe_url"] = link
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at = max(next_at, time.monotonic()) + interval
            result = await self._send_one(campaign, template, row, context, link)
            await self._record(row, result)
        return len(batch)

    async def _peek_rate(self, campaign_id: int) -> int | None:
        """The campaign's rate while it is sending by a channel this worker serves."""
        async with self.sessions() as session:
            return await session.scalar(
                select(Campaign.rate_per_second).where(
                    Campaign.id == campaign_id,
                    Campaign.state == CampaignState.SENDING,
                    # SMS and Telegram campaigns: next increment; never claim their rows.
                    Campaign.channel == Channel.EMAIL,
                )
            )

    async def _send_one(self, campaign, template, row, context, link: str) -> SendResult:
        message_id = campaign_message_id(self.config, campaign.id, row.customer_id)
        try:
            rendered = render_with(template, context)
        except Exception as exc:  # a template error fails this row, not the campaign
            return SendResult(False, message_id, f"template: {exc}", permanent=True)
        return await self.transport.send(
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

    async def _record(self, row, result: SendResult) -> None:
        async with self._uow() as session:
            at = now(session)
            if result.ok:
                values = {"status": D.SENT, "sent_at": at, "detail": None}
            elif result.permanent or row.attempts >= MAX_ATTEMPTS:
                values = {"status": D.FAILED, "detail": result.detail[:2000]}
            else:  # transient: back off 30 s, 60 s, 120 s …
                retry_at = at + RETRY_BASE * 2 ** (row.attempts - 1)
                values = {"status": D.PENDING, "retry_at": retry_at, "detail": result.detail[:2000]}
            await session.execute(
                update(Delivery)
                .where(Delivery.id == row.id, Delivery.status == D.SENDING)
                .values(message_id=result.message_id, **values)
            )

    async def _finish_drained(self, campaign_ids: list[int]) -> None:
        if not campaign_ids:
            return
        async with self._uow() as session:
            open_rows = exists().where(
                Delivery.campaign_id == Campaign.id, Delivery.status.in_([D.PENDING, D.SENDING])
            )
            await session.execute(
                update(Campaign)
                .where(
                    and_(Campaign.id.in_(campaign_ids), Campaign.state == CampaignState.SENDING),
                    ~open_rows,
                )
                .values(
                    state=CampaignState.FINISHED, finished_at=now(session), updated_at=now(session)
                )
                .execution_options(synchronize_session=False)
            )
