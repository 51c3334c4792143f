"""``/campaigns``: create, start, pause, cancel; progress counts per delivery status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.campaigns import CampaignCreate, CampaignOut
from backoffice.api.schemas_common import ListOf
from crm_core.models import Channel
from messaging import campaigns as service
from messaging.sms_reports import report_counts

router = APIRouter(tags=["campaigns"])
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _outs(session, campaigns: list) -> list[CampaignOut]:
    ids = [c.id for c in campaigns]
    counts = await service.delivery_counts(session, ids)
    reports = await report_counts(session, [c.id for c in campaigns if c.channel == Channel.SMS])
    return [
        CampaignOut.model_validate(c).model_copy(
            update={"counts": counts[c.id], "reports": reports.get(c.id)}
        )
        for c in campaigns
    ]


async def _out(session, campaign) -> CampaignOut:
    return (await _outs(session, [campaign]))[0]


@router.get("/campaigns", response_model=ListOf[CampaignOut])
async def list_campaigns(session: Session, page: Page) -> ListOf[CampaignOut]:
    items, total = await service.list_campaigns(session, limit=page.limit, offset=page.offset)
    return ListOf[CampaignOut](items=await _outs(session, items), total=total)


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
async def create_campaign(body: CampaignCreate, session: Session) -> CampaignOut:
    fields = body.model_dump(exclude={"segment"})
    segment = body.segment.model_dump(exclude_none=True, mode="json")
    return await _out(session, await service.create_campaign(session, segment=segment, **fields))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: CampaignId, session: Session) -> CampaignOut:
    return await _out(session, await service.get_campaign(session, campaign_id))


@router.post("/campaigns/{campaign_id}/start", response_model=CampaignOut)
async def start_campaign(campaign_id: CampaignId, session: Session) -> CampaignOut:
    return await _out(session, await service.start_campaign(session, campaign_id))


@router.post("/campaigns/{campaign_id}/pause", response_model=CampaignOut)
async def pause_campaign(campaign_id: CampaignId, session: Session) -> CampaignOut:
    return await _out(session, await service.pause_campaign(session, campaign_id))


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignOut)
async def cancel_campaign(campaign_id: CampaignId, session: Session) -> CampaignOut:
    return await _out(session, await service.cancel_campaign(session, campaign_id))
