"""The secret links of the feeds: ``/feeds/yml`` (the catalog's YML feed) and
``POST /employees/{id}/calendar-token`` (a new ``calendar_url``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from channels.admin.auth import Ctx, Session
from crm_core.calendar_feed.service import rotate_calendar_token
from crm_core.catalog_feed.service import disable_feed, feed_state, rotate_feed_token
from crm_core.employees.access import require_admin

router = APIRouter(tags=["feeds"])


class FeedOut(BaseModel):
    enabled: bool
    rotated_at: str | None = None
    url: str | None = None


class CalendarLinkOut(BaseModel):
    employee_id: int
    calendar_url: str


@router.get("/feeds/yml", response_model=FeedOut)
async def get_yml_feed(session: Session) -> FeedOut:
    """Whether the feed is on (its URL is shown only when a token is made)."""
    await require_admin(session, action="manage the catalog feed")
    return FeedOut(**await feed_state(session))


@router.post("/feeds/yml/token", response_model=FeedOut, status_code=201)
async def new_yml_token(session: Session, ctx: Ctx) -> FeedOut:
    """A new secret feed URL; the previous one stops working."""
    token = await rotate_feed_token(session)
    url = f"{ctx.public_url.rstrip('/')}/feeds/yml/{token}.xml"
    return FeedOut(**await feed_state(session), url=url)


@router.delete("/feeds/yml/token", response_model=FeedOut)
async def drop_yml_token(session: Session) -> FeedOut:
    await disable_feed(session)
    return FeedOut(**await feed_state(session))


@router.post("/employees/{employee_id}/calendar-token", response_model=CalendarLinkOut)
async def new_calendar_token(employee_id: int, session: Session, ctx: Ctx) -> CalendarLinkOut:
    """A new secret calendar URL for the employee; subscriptions to the old one stop."""
    employee = await rotate_calendar_token(session, employee_id)
    url = f"{ctx.public_url.rstrip('/')}/calendar/{employee.calendar_token}.ics"
    return CalendarLinkOut(employee_id=employee.id, calendar_url=url)
