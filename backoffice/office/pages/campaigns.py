"""Campaigns: the list with progress, one campaign's counts per delivery status with
start / pause / cancel, and a new campaign from a template and a segment."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.context import Staff
from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pager import PER_PAGE, Pager, page_number
from backoffice.office.pages.crm_inputs import items, object_id, optional_id, payload, text
from backoffice.office.pages.customer_write import parse_choice
from backoffice.office.pages.customers import CHANNELS
from backoffice.office.pages.leads import SOURCES
from backoffice.office.templating import render
from crm_core.employees.service import list_employees
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import CampaignState, Channel, DeliveryStatus
from messaging.campaigns import (
    TEMPLATE_KINDS,
    cancel_campaign,
    create_campaign,
    delivery_counts,
    get_campaign,
    list_campaigns,
    pause_campaign,
    start_campaign,
)
from messaging.sms_reports import report_counts
from messaging.templates import get_template, list_templates

router = APIRouter()

STATES = {
    CampaignState.DRAFT: N_("Draft"),
    CampaignState.SCHEDULED: N_("Scheduled"),
    CampaignState.SENDING: N_("Sending"),
    CampaignState.PAUSED: N_("Paused"),
    CampaignState.FINISHED: N_("Finished"),
    CampaignState.CANCELLED: N_("Cancelled"),
}
STATE_BADGES = {
    "draft": "",
    "scheduled": "info",
    "sending": "info",
    "paused": "warn",
    "finished": "ok",
    "cancelled": "bad",
}
STATUSES = {
    DeliveryStatus.PENDING: N_("Waiting"),
    DeliveryStatus.SENDING: N_("Sending now"),
    DeliveryStatus.SENT: N_("Sent"),
    DeliveryStatus.FAILED: N_("Failed"),
    DeliveryStatus.SKIPPED: N_("Skipped"),
}
REPORTS = {
    "delivered": N_("Delivered"),
    "undelivered": N_("Not delivered"),
    "unknown": N_("No report"),
    "waiting": N_("Waiting for the report"),
}
SEGMENT_FIELDS = (
    "tags",
    "source",
    "has_orders",
    "min_total",
    "responsible_id",
    "last_order_after",
    "last_order_before",
)
VALUE_FIELDS = ("name", "template", "scheduled_at", "rate_per_second", *SEGMENT_FIELDS)


@router.get("/campaigns")
async def campaigns_list(request: Request, staff: StaffDep) -> Response:
    offset = (page_number(request.query_params) - 1) * PER_PAGE
    rows, total = await list_campaigns(staff.session, limit=PER_PAGE, offset=offset)
    return render(
        staff,
        "pages/campaigns.html",
        section="campaigns",
        campaigns=rows,
        counts=await delivery_counts(staff.session, [c.id for c in rows]),
        pager=Pager.of(request.query_params, total),
        states=STATES,
        badges=STATE_BADGES,
        channels=CHANNELS,
    )


async def _templates_by_channel(staff: Staff) -> dict[str, list]:
    templates, _total = await list_templates(staff.session, limit=500)
    out: dict[str, list] = {c.value: [] for c in Channel}
    for template in templates:
        for channel, kinds in TEMPLATE_KINDS.items():
            if template.kind in kinds:
                out[channel.value].append(template)
    return out


async def _new_page(staff: Staff, *, errors=None, values=None, status_code=200) -> Response:
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    return render(
        staff,
        "pages/campaign_new.html",
        status_code=status_code,
        section="campaigns",
        templates=await _templates_by_channel(staff),
        channels=CHANNELS,
        sources=SOURCES,
        employees=employees,
        errors=errors or {},
        values=values or {"rate_per_second": "10"},
    )


@router.get("/campaigns/new")
async def new_campaign(staff: StaffDep) -> Response:
    return await _new_page(staff)


def _local_time(value: str, staff: Staff, field: str, *, day_only: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        if day_only:
            at = datetime.combine(datetime.fromisoformat(value).date(), time(0))
        else:
            at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(staff._("Give the date and time"), field=field) from exc
    if not 1900 < at.year < 2200:
        raise ValidationFailed(staff._("Give the date and time"), field=field)
    return at.replace(tzinfo=staff.tz) if at.tzinfo is None else at


def _segment(values: dict[str, str], staff: Staff) -> dict[str, Any]:
    segment: dict[str, Any] = {}
    tags = items(values["tags"])
    if tags:
        segment["tags"] = tags[:30]
    if values["source"]:
        segment["source"] = values["source"]
    if values["has_orders"] in ("yes", "no"):
        segment["has_orders"] = values["has_orders"] == "yes"
    if values["min_total"]:
        try:
            amount = Decimal(values["min_total"].replace(",", ".").replace(" ", ""))
        except InvalidOperation as exc:
            raise ValidationFailed(staff._("Give an amount"), field="min_total") from exc
        if not amount.is_finite() or not 0 <= amount < 10**12:
            raise ValidationFailed(staff._("Give an amount"), field="min_total")
        segment["min_total"] = str(amount)
    responsible = optional_id(values["responsible_id"], "responsible_id")
    if responsible is not None:
        segment["responsible_id"] = responsible
    for key in ("last_order_after", "last_order_before"):
        at = _local_time(values[key], staff, key, day_only=True)
        if at is not None:
            segment[key] = at
    return segment


@router.post("/campaigns")
async def add_campaign(request: Request, staff: StaffDep) -> Response:
    data = await payload(request)
    values = {key: text(data, key)[:500] for key in VALUE_FIELDS}
    try:
        async with staff.attempt():
            channel, template_id = parse_choice(values["template"], staff)
            rate = values["rate_per_second"] or "10"
            if not rate.isdigit() or len(rate) > 6:
                raise ValidationFailed(staff._("Give a whole number"), field="rate_per_second")
            campaign = await create_campaign(
                staff.session,
                name=values["name"][:200],
                channel=channel,
                template_id=template_id,
                segment=_segment(values, staff),
                scheduled_at=_local_time(values["scheduled_at"], staff, "scheduled_at"),
                rate_per_second=int(rate),
            )
    except ValidationFailed as exc:
        field = (exc.field or "name").removeprefix("segment.")
        field = {"template_id": "template", "channel": "template"}.get(field, field)
        return await _new_page(staff, errors={field: str(exc)}, values=values, status_code=422)
    return RedirectResponse(f"/office/campaigns/{campaign.id}", status_code=303)


@router.get("/campaigns/{campaign_id}")
async def campaign_page(campaign_id: str, staff: StaffDep) -> Response:
    cid = object_id(campaign_id, "Campaign")
    campaign = await get_campaign(staff.session, cid)
    counts = (await delivery_counts(staff.session, [cid]))[cid]
    reports = None
    if campaign.channel == Channel.SMS:  # what the operators said of the sent ones
        reports = (await report_counts(staff.session, [cid]))[cid]
    template = await get_template(staff.session, campaign.template_id)
    return render(
        staff,
        "pages/campaign.html",
        section="campaigns",
        campaign=campaign,
        counts=counts,
        total=sum(counts.values()),
        statuses=STATUSES,
        reports=reports,
        report_labels=REPORTS,
        states=STATES,
        badges=STATE_BADGES,
        channels=CHANNELS,
        sources=SOURCES,
        message_template=template,
        can_start=campaign.state in ("draft", "scheduled", "paused"),
        can_pause=campaign.state in ("sending", "scheduled"),
        can_cancel=campaign.state in ("draft", "scheduled", "sending", "paused"),
    )


ACTIONS = {"start": start_campaign, "pause": pause_campaign, "cancel": cancel_campaign}


@router.post("/campaigns/{campaign_id}/{action}")
async def campaign_action(campaign_id: str, action: str, staff: StaffDep) -> Response:
    """Start (or resume), pause or cancel; an illegal move is a 409 page."""
    cid = object_id(campaign_id, "Campaign")
    step = ACTIONS.get(action)
    if step is None:
        raise NotFound(staff._("No such action"))
    await step(staff.session, cid)
    return RedirectResponse(f"/office/campaigns/{cid}", status_code=303)
