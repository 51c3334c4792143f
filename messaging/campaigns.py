"""Campaigns: create, list, and move through draft → scheduled → sending → paused →
finished / cancelled. Every move is one conditional UPDATE (``WHERE state IN …``),
so two clicks or two workers never both win; the recipient snapshot is taken by the
one move that wins, and is unique per (campaign, customer) besides."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, exists, func, insert, literal, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import (
    Campaign,
    CampaignState,
    Channel,
    Customer,
    Delivery,
    DeliveryStatus,
    SuppressedAddress,
    Template,
    TemplateKind,
)
from messaging.segments import address_of, clean_segment, consent_given, segment_conditions

S = CampaignState
TEMPLATE_KINDS = {
    Channel.EMAIL: {TemplateKind.LETTER, TemplateKind.OFFER},
    Channel.SMS: {TemplateKind.SMS},
    Channel.TELEGRAM: {TemplateKind.TELEGRAM},
}
MAX_RATE = 10_000


async def create_campaign(
    session: AsyncSession,
    *,
    name: str,
    channel: Channel | str,
    template_id: int,
    segment: dict[str, Any] | None = None,
    scheduled_at: datetime | None = None,
    rate_per_second: int = 10,
    max_errors: int = 100,
) -> Campaign:
    """A draft campaign; nothing is sent until it is started."""
    try:
        channel = Channel(channel)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown channel {channel!r}", field="channel") from exc
    template = await require_ref(
        session, Template, template_id, field="template_id", what="Template"
    )
    if template.kind not in TEMPLATE_KINDS[channel]:
        raise ValidationFailed(
            f"A {template.kind} template cannot go out by {channel}", field="template_id"
        )
    if not 1 <= rate_per_second <= MAX_RATE:
        raise ValidationFailed(f"Rate must be 1…{MAX_RATE} per second", field="rate_per_second")
    if not 0 <= max_errors <= 1_000_000:
        raise ValidationFailed("max_errors must be 0…1000000 (0: never pause)", field="max_errors")
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        raise ValidationFailed("scheduled_at needs a time zone offset", field="scheduled_at")
    at = now(session)
    campaign = Campaign(
        name=name.strip(),
        channel=channel,
        template_id=template.id,
        segment=clean_segment(segment),
        state=S.DRAFT,
        scheduled_at=scheduled_at,
        rate_per_second=rate_per_second,
        max_errors=max_errors,
        recent_failures=0,
        created_at=at,
        updated_at=at,
    )
    if not campaign.name:
        raise ValidationFailed("A campaign needs a name", field="name")
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """One campaign (fresh from the database: workers change it)."""
    campaign = await get_or_404(session, Campaign, campaign_id)
    await session.refresh(campaign)
    return campaign


async def list_campaigns(
    session: AsyncSession, *, limit: int = 50, offset: int = 0
) -> tuple[list[Campaign], int]:
    """Campaigns, newest first, with the total."""
    total = await session.scalar(select(func.count()).select_from(Campaign))
    rows = await session.scalars(
        select(Campaign).order_by(Campaign.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total or 0


async def delivery_counts(session: AsyncSession, campaign_ids: Iterable[int]) -> dict[int, dict]:
    """Per campaign: the number of delivery rows in each status (every status present)."""
    ids = list(campaign_ids)
    counts = {cid: {s.value: 0 for s in DeliveryStatus} for cid in ids}
    if ids:
        rows = await session.execute(
            select(Delivery.campaign_id, Delivery.status, func.count())
            .where(Delivery.campaign_id.in_(ids))
            .group_by(Delivery.campaign_id, Delivery.status)
        )
        for cid, status, n in rows:
            counts[cid][DeliveryStatus(status).value] = n
    return counts


async def _move(
    session: AsyncSession, campaign_id: int, from_states: set[CampaignState], **values: Any
) -> bool:
    """The state change as one conditional UPDATE; False when another move won."""
    result = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state.in_(from_states))
        .values(updated_at=now(session), **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def snapshot_recipients(session: AsyncSession, campaign: Campaign) -> None:
    """Write one delivery row per customer of the segment, in the database
    (INSERT … SELECT: recipients are never loaded into Python). Customers without
    consent for the channel, without an address, with an address a server refused
    for good, or who blocked the bot (Telegram) are recorded as skipped."""
    consent = consent_given(campaign.channel)
    address = address_of(campaign.channel)
    suppressed = exists().where(
        SuppressedAddress.channel == campaign.channel, SuppressedAddress.address == address
    )
    reachable = (
        Customer.telegram_unreachable.is_(False) if campaign.channel == Channel.TELEGRAM else true()
    )
    status = case(
        (
            consent & address.is_not(None) & reachable & ~suppressed,
            literal(DeliveryStatus.PENDING.value, String),
        ),
        else_=literal(DeliveryStatus.SKIPPED.value, String),
    )
    detail = case(
        (~consent, literal("no consent", String)),
        (address.is_(None), literal("no address", String)),
        (~reachable, literal("blocked the bot", String)),
        (suppressed, literal("bad address", String)),
        else_=None,
    )
    if session.bind.dialect.name == "postgresql":
        # Right after a bulk import the planner's row counts are stale, and with them
        # the per-customer look-ups below turn into scans of whole tables (measured:
        # 15 s instead of 0.3 s for 10,000 customers). ANALYZE takes no lock that
        # blocks readers or writers.
        await session.execute(text("ANALYZE customers, contact_points, consents, customer_tags"))
    # In customer order, so deliveries go out (and resume) in a predictable order.
    recipients = (
        select(literal(campaign.id), Customer.id, status, address, literal(0), detail)
        .where(*segment_conditions(campaign.segment))
        .order_by(Customer.id)
    )
    await session.execute(
        insert(Delivery).from_select(
            ["campaign_id", "customer_id", "status", "address", "attempts", "detail"], recipients
        )
    )


async def begin_sending(session: AsyncSession, campaign_id: int) -> bool:
    """scheduled|draft → sending with the snapshot, by the one caller that wins."""
    at = now(session)
    if not await _move(
        session, campaign_id, {S.DRAFT, S.SCHEDULED}, state=S.SENDING, snapshot_at=at
    ):
        return False
    campaign = await get_campaign(session, campaign_id)
    await snapshot_recipients(session, campaign)
    return True


async def start_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """Start (or resume) a campaign: at its scheduled time, or now."""
    campaign = await get_campaign(session, campaign_id)
    at = now(session)
    if campaign.state in (S.FINISHED, S.CANCELLED):
        raise Conflict(f"The campaign is {campaign.state}")
    if campaign.state == S.PAUSED:
        target = S.SENDING if campaign.snapshot_at else S.SCHEDULED
        # A resume starts the failure count afresh (the auto-pause limit is per run).
        await _move(
            session, campaign_id, {S.PAUSED}, state=target, recent_failures=0, pause_reason=None
        )
    elif campaign.state == S.DRAFT and campaign.scheduled_at and campaign.scheduled_at > at:
        await _move(session, campaign_id, {S.DRAFT}, state=S.SCHEDULED)
    elif campaign.state in (S.DRAFT, S.SCHEDULED):
        await begin_sending(session, campaign_id)
    return await get_campaign(session, campaign_id)


async def pause_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """Stop claiming new rows; rows already claimed finish (at most one batch)."""
    campaign = await get_campaign(session, campaign_id)
    if campaign.state != S.PAUSED and not await _move(
        session, campaign_id, {S.SENDING, S.SCHEDULED}, state=S.PAUSED
    ):
        raise Conflict(f"A {campaign.state} campaign cannot be paused")
    return await get_campaign(session, campaign_id)


async def cancel_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """Cancel for good: rows not yet sent are marked skipped."""
    campaign = await get_campaign(session, campaign_id)
    live = {S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED}
    if not await _move(session, campaign_id, live, state=S.CANCELLED, finished_at=now(session)):
        raise Conflict(f"A {campaign.state} campaign cannot be cancelled")
    await session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, detail="campaign cancelled")
    )
    return await get_campaign(session, campaign_id)
