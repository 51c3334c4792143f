"""Campaign pages: create from a template and a segment, start, pause, cancel, counts."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm_core.models import Campaign, Delivery
from messaging.templates import create_template
from tests.factories.people import make_customer

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def _setup(uow):
    async with uow() as s:
        letter = await create_template(
            s, kind="letter", name=SCRIPT, subject="Акция", body="<p>Скидка</p>"
        )
        sms = await create_template(s, kind="sms", name="СМС-акция", body="Скидка")
        for n in range(3):
            await make_customer(
                s,
                name=f"Подписчик {n}",
                emails=[f"sub{n}@example.com"],
                tags=["vip"],
                consents={"email": True},
            )
        await make_customer(s, name="Без согласия", emails=["no@example.com"], tags=["vip"])
        await make_customer(s, name="Не vip", emails=["x@example.com"], consents={"email": True})
    return letter, sms


def _counts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-status="(\w+)">(\d+)<', page)}


async def test_create_start_pause_resume_cancel(office, uow):
    letter, _sms = await _setup(uow)
    page = await office.get("/office/campaigns/new")
    assert page.status_code == 200 and f'value="email:{letter.id}"' in page.text
    assert ESCAPED in page.text and SCRIPT not in page.text
    r = await office.post_form(
        "/office/campaigns",
        {"name": SCRIPT, "template": f"email:{letter.id}", "tags": "VIP", "rate_per_second": "5"},
    )
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    async with uow() as s:
        campaign = await s.get(Campaign, cid)
    assert campaign.channel == "email" and campaign.segment == {"tags": ["vip"]}
    assert campaign.state == "draft" and campaign.rate_per_second == 5
    page = await office.get(f"/office/campaigns/{cid}")
    assert ESCAPED in page.text and SCRIPT not in page.text
    assert "/start" in page.text and "/pause" not in page.text
    listing = await office.get("/office/campaigns")
    assert f"/office/campaigns/{cid}" in listing.text and ESCAPED in listing.text

    assert (await office.post_form(f"/office/campaigns/{cid}/start")).status_code == 303
    page = (await office.get(f"/office/campaigns/{cid}")).text
    counts = _counts(page)
    # Three with consent get a row; the one without consent is snapshotted as skipped
    # or left out — either way never pending.
    assert counts["pending"] == 3 and counts["sent"] == 0
    assert "/pause" in page

    assert (await office.post_form(f"/office/campaigns/{cid}/pause")).status_code == 303
    async with uow() as s:
        assert (await s.get(Campaign, cid)).state == "paused"
    again = await office.post_form(f"/office/campaigns/{cid}/pause")
    assert again.status_code == 303  # pausing a paused campaign changes nothing
    assert (await office.post_form(f"/office/campaigns/{cid}/start")).status_code == 303
    async with uow() as s:
        assert (await s.get(Campaign, cid)).state == "sending"
    assert (await office.post_form(f"/office/campaigns/{cid}/cancel")).status_code == 303
    async with uow() as s:
        assert (await s.get(Campaign, cid)).state == "cancelled"
        statuses = list(await s.scalars(select(Delivery.status).where(Delivery.campaign_id == cid)))
    assert statuses and "pending" not in statuses
    assert (await office.post_form(f"/office/campaigns/{cid}/start")).status_code == 409
    assert (await office.post_form(f"/office/campaigns/{cid}/pause")).status_code == 409


async def test_refusals_rerender_the_form(office, uow):
    letter, sms = await _setup(uow)
    cases = [
        {"name": "", "template": f"email:{letter.id}"},
        {"name": "x", "template": ""},
        {"name": "x", "template": f"email:{sms.id}"},  # an SMS template by email
        {"name": "x", "template": "email:99999"},
        {"name": "x", "template": f"email:{letter.id}", "rate_per_second": "0"},
        {"name": "x", "template": f"email:{letter.id}", "rate_per_second": "abc"},
        {"name": "x", "template": f"email:{letter.id}", "min_total": "много"},
        {"name": "x", "template": f"email:{letter.id}", "min_total": "1e400"},
        {"name": "x", "template": f"email:{letter.id}", "source": "bogus"},
        {"name": "x", "template": f"email:{letter.id}", "scheduled_at": "завтра"},
        {"name": "x", "template": f"email:{letter.id}", "responsible_id": "-1"},
    ]
    for body in cases:
        r = await office.post_form("/office/campaigns", body)
        assert r.status_code == 422, body
    async with uow() as s:
        assert list(await s.scalars(select(Campaign))) == []


async def test_segment_from_every_field(office, people, uow):
    letter, _sms = await _setup(uow)
    r = await office.post_form(
        "/office/campaigns",
        {
            "name": "Осень",
            "template": f"email:{letter.id}",
            "source": "web_form",
            "has_orders": "yes",
            "min_total": "1 000,50",
            "responsible_id": str(people.manager_id),
            "last_order_after": "2026-01-01",
            "scheduled_at": "2026-12-01T10:00",
        },
    )
    assert r.status_code == 303
    async with uow() as s:
        campaign = (await s.scalars(select(Campaign))).one()
    assert campaign.segment["min_total"] == "1000.50" and campaign.segment["has_orders"] is True
    assert campaign.segment["last_order_after"].startswith("2026-01-01T00:00:00+03:00")
    assert campaign.scheduled_at.isoformat().startswith("2026-12-01T07:00")


async def test_csrf_unknown_ids_and_actions(office, office_manager, uow):
    letter, _sms = await _setup(uow)
    r = await office.post("/office/campaigns", data={"name": "x", "template": f"email:{letter.id}"})
    assert r.status_code == 403
    assert (await office.get("/office/campaigns/999999")).status_code == 404
    assert (await office.get("/office/campaigns/99999999999999")).status_code == 404
    assert (await office.post_form("/office/campaigns/999999/start")).status_code == 404
    r = await office.post_form("/office/campaigns", {"name": "x", "template": f"email:{letter.id}"})
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    assert (await office.post_form(f"/office/campaigns/{cid}/explode")).status_code == 404
    assert (await office.post(f"/office/campaigns/{cid}/start")).status_code == 403
    assert (await office_manager.get("/office/campaigns")).status_code == 200


async def test_an_sms_campaign_shows_the_operators_reports(office, uow, sessions, clock):
    from datetime import timedelta

    from messaging.campaigns import create_campaign, start_campaign
    from messaging.config import MessagingConfig
    from messaging.runner import CampaignRunner
    from messaging.sms import LogSmsProvider
    from messaging.sms_reports import SmsReportPoller

    async with uow() as s:
        sms = await create_template(s, kind="sms", name="СМС", body="Скидка")
        for n in range(2):
            await make_customer(s, phones=[f"+7916123450{n}"], tags=["sms"], consents={"sms": True})
        campaign = await create_campaign(
            s, name="СМС", channel="sms", template_id=sms.id, segment={"tags": ["sms"]}
        )
        await start_campaign(s, campaign.id)
    provider = LogSmsProvider()
    runner = CampaignRunner(sessions, None, MessagingConfig(), sms=provider, clock=clock)
    while await runner.run_once():
        pass
    page = (await office.get(f"/office/campaigns/{campaign.id}")).text
    reports = dict(re.findall(r'data-report="(\w+)">(\d+)<', page))
    assert "Отчёты операторов" in page and reports["waiting"] == "2"
    clock.advance(timedelta(minutes=1))
    await SmsReportPoller(sessions, provider, clock=clock).run_once()
    page = (await office.get(f"/office/campaigns/{campaign.id}")).text
    reports = dict(re.findall(r'data-report="(\w+)">(\d+)<', page))
    assert reports == {"delivered": "2", "undelivered": "0", "unknown": "0", "waiting": "0"}
    assert "Доставлено" in page
    letter, _ = await _setup(uow)
    async with uow() as s:
        mail = await create_campaign(s, name="Письмо", channel="email", template_id=letter.id)
    page = (await office.get(f"/office/campaigns/{mail.id}")).text
    assert "data-report" not in page  # email has no operator reports
