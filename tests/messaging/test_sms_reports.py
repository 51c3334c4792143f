"""SMS delivery reports, asked of the fake gateways in their own status formats: a
campaign's SMS end delivered, undelivered or — after two days without an answer —
unknown; a single send's event on the card shows the operator's answer; a gateway
that is down loses no report; the runner asks between passes, not on every one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_core.models import Event, SmsReport
from messaging.campaigns import create_campaign, start_campaign
from messaging.config import MessagingConfig
from messaging.pacing import ClockTimer
from messaging.runner import REPORTS_EVERY, CampaignRunner
from messaging.single import send_sms
from messaging.sms import SmscProvider, SmsRuProvider
from messaging.sms_reports import SmsReportPoller, report_counts
from messaging.templates import create_template
from tests.factories.people import make_customer
from tests.messaging.running import drain

CONFIG = MessagingConfig(secret_key="test-secret", public_url="https://crm.example")
MINUTE = timedelta(minutes=1)


async def _campaign(uow, phones: list[str]) -> int:
    async with uow() as s:
        for phone in phones:
            await make_customer(s, phones=[phone], tags=["sms"], consents={"sms": True})
        template = await create_template(s, kind="sms", name="Promo", body="Скидка 10%")
        campaign = await create_campaign(
            s, name="SMS", channel="sms", template_id=template.id, segment={"tags": ["sms"]}
        )
        await start_campaign(s, campaign.id)
    return campaign.id


async def _reports(uow) -> dict[str, SmsReport]:
    async with uow() as s:
        return {r.phone: r for r in await s.scalars(select(SmsReport))}


async def test_a_campaigns_sms_end_delivered_undelivered_or_unknown(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    phones = ["+79161234560", "+79161234561", "+79161234562"]
    campaign_id = await _campaign(uow, phones)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock)
    poller = SmsReportPoller(sessions, provider, clock=clock)
    try:
        await drain(runner)
        sent = clock.now()
        reports = await _reports(uow)
        assert set(reports) == set(phones)
        assert {r.due_at for r in reports.values()} == {sent + MINUTE}
        assert await poller.run_once() == 0  # nothing is due within the first minute
        ids = {m["to"]: m["id"] for m in sms_gateway.sent}
        sms_gateway.report(ids["79161234560"], 103)
        sms_gateway.report(ids["79161234561"], 104)  # its lifetime ran out
        clock.advance(MINUTE)
        assert await poller.run_once() == 3
        reports = await _reports(uow)
        assert reports[phones[0]].status == "delivered" and reports[phones[0]].due_at is None
        assert "103" in reports[phones[0]].detail
        assert reports[phones[1]].status == "undelivered" and "104" in reports[phones[1]].detail
        waiting = reports[phones[2]]
        assert waiting.status is None and waiting.checks == 1
        assert waiting.due_at == clock.now() + 2 * MINUTE and "102" in waiting.detail
        async with uow() as s:
            counts = (await report_counts(s, [campaign_id]))[campaign_id]
        assert counts == {"delivered": 1, "undelivered": 1, "unknown": 0, "waiting": 1}
        asked = sms_gateway.status_requests
        for _ in range(60):  # two days of asking, less and less often
            clock.advance(timedelta(hours=1))
            await poller.run_once()
        reports = await _reports(uow)
        assert reports[phones[2]].status == "unknown" and reports[phones[2]].due_at is None
        assert sms_gateway.status_requests - asked == 48  # once an hour until two days
        before = sms_gateway.status_requests
        clock.advance(timedelta(days=1))
        assert await poller.run_once() == 0 and sms_gateway.status_requests == before
    finally:
        await provider.close()
    assert reports[phones[0]].status == "delivered"  # a final answer never moves again


async def test_a_gateway_that_is_down_loses_no_report(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    await _campaign(uow, ["+79161234560"])
    provider = SmsRuProvider(sms_config)
    try:
        await drain(CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock))
        sms_gateway.report(sms_gateway.sent[0]["id"], 103)
        poller = SmsReportPoller(sessions, provider, clock=clock)
        clock.advance(MINUTE)
        sms_gateway.down = 1
        assert await poller.run_once() == 1
        (report,) = (await _reports(uow)).values()
        assert report.status is None and report.due_at == clock.now() + 2 * MINUTE
        clock.advance(2 * MINUTE)
        assert await poller.run_once() == 1
        (report,) = (await _reports(uow)).values()
    finally:
        await provider.close()
    assert report.status == "delivered" and report.checks == 2


async def test_a_single_sms_event_shows_the_operators_answer(
    uow,
    sessions,
    clock,
    smsc,
    smsc_config,
) -> None:
    provider = SmscProvider(smsc_config)
    try:
        async with uow() as s:
            ivan = await make_customer(s, name="Иван", phones=["+79161234567"])
            olga = await make_customer(s, name="Ольга", phones=["+79161234568"])
            delivered = await send_sms(s, provider, customer_id=ivan.id, text="Заказ готов")
            lost = await send_sms(s, provider, customer_id=olga.id, text="Заказ готов")
        assert delivered.data["delivery_status"] == "sent"
        first, second = (m["id"] for m in smsc.sent)
        smsc.report(first, 1)
        smsc.report(second, 20, err=1)  # the subscriber does not exist
        poller = SmsReportPoller(sessions, provider, clock=clock)
        clock.advance(MINUTE)
        assert await poller.run_once() == 2
    finally:
        await provider.close()
    async with uow() as s:
        shown = await s.get(Event, delivered.id)
        failed = await s.get(Event, lost.id)
    assert shown.data["delivery_status"] == "delivered" and shown.data["report"] == "SMSC status 1"
    assert failed.data["delivery_status"] == "undelivered"
    assert failed.data["report"] == "SMSC status 20, error 1"
    assert shown.data["to"] == "+79161234567"  # the rest of the event's data is kept


async def test_smsc_asks_for_many_in_one_request_and_unknown_ids_wait(
    smsc,
    smsc_config,
) -> None:
    provider = SmscProvider(smsc_config)
    try:
        one = await provider.send("+79161234567", "a")
        two = await provider.send("+79161234568", "b")
        smsc.report(int(one.message_id), 1)
        reports = await provider.statuses(
            [
                (one.message_id, "+79161234567"),
                (two.message_id, "+79161234568"),
                (two.message_id, "+79990000000"),  # the wrong phone: not found (-3)
                ("999", "+79161234569"),
            ]
        )
        alone = await provider.statuses([(one.message_id, "+79161234567")])
    finally:
        await provider.close()
    assert smsc.status_requests == 2
    assert reports[one.message_id].state == "delivered"
    assert reports["999"].state == "pending" and reports["999"].detail == "SMSC status -3"
    assert alone[one.message_id].state == "delivered"  # one id: still the list format


async def test_the_runner_asks_between_passes_not_on_every_one(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    await _campaign(uow, ["+79161234560"])
    provider = SmsRuProvider(sms_config)
    timer = ClockTimer(clock)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock, timer=timer)
    try:
        await drain(runner)
        sms_gateway.report(sms_gateway.sent[0]["id"], 103)
        clock.advance(MINUTE)
        await runner._ask_for_reports()
        asked = sms_gateway.status_requests
        await runner._ask_for_reports()  # again at once: not asked
        assert sms_gateway.status_requests == asked == 1
        clock.advance(timedelta(seconds=REPORTS_EVERY))
        await runner._ask_for_reports()
    finally:
        await provider.close()
    (report,) = (await _reports(uow)).values()
    assert report.status == "delivered"


async def test_the_api_counts_an_sms_campaigns_reports(
    api, uow, sessions, clock, sms_gateway, sms_config
) -> None:
    campaign_id = await _campaign(uow, ["+79161234560", "+79161234561"])
    provider = SmsRuProvider(sms_config)
    try:
        await drain(CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock))
        sms_gateway.report(sms_gateway.sent[0]["id"], 103)
        clock.advance(MINUTE)
        await SmsReportPoller(sessions, provider, clock=clock).run_once()
    finally:
        await provider.close()
    got = (await api.get(f"/campaigns/{campaign_id}")).json()
    assert got["counts"]["sent"] == 2
    assert got["reports"] == {"delivered": 1, "undelivered": 0, "unknown": 0, "waiting": 1}
    listed = (await api.get("/campaigns")).json()["items"]
    assert [c["reports"] for c in listed] == [got["reports"]]
    template = (
        await api.post(
            "/templates", json={"kind": "letter", "name": "L", "subject": "S", "body": "<p>x</p>"}
        )
    ).json()
    mail = await api.post(
        "/campaigns", json={"name": "M", "channel": "email", "template_id": template["id"]}
    )
    assert mail.json()["reports"] is None  # email has no operator reports
