"""Campaigns end to end over a real SMTP server: snapshot, consent, send, unsubscribe."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_core.models import Consent, Delivery, Event
from messaging.campaigns import (
    create_campaign,
    delivery_counts,
    get_campaign,
    pause_campaign,
    start_campaign,
)
from messaging.email import SmtpTransport
from messaging.runner import CampaignRunner, campaign_message_id
from messaging.templates import create_template
from messaging.unsubscribe import make_token, read_token
from messaging.web import unsubscribe
from tests.factories.people import make_customer

BODY = '<p>Здравствуйте, {{ customer.name }}!</p><a href="{{ unsubscribe_url }}">Отписаться</a>'


async def _audience(uow, n: int = 6):
    """n consenting customers tagged vip, one vip without consent, one not vip."""
    async with uow() as s:
        ids = [
            (
                await make_customer(
                    s, emails=[f"c{i}@example.com"], tags=["vip"], consents={"email": True}
                )
            ).id
            for i in range(n)
        ]
        no_consent = await make_customer(s, emails=["nc@example.com"], tags=["vip"])
        await make_customer(s, emails=["other@example.com"], consents={"email": True})
        template = await create_template(
            s, kind="letter", name="Promo", subject="Акция для {{ customer.name }}", body=BODY
        )
        campaign = await create_campaign(
            s,
            name="Весна",
            channel="email",
            template_id=template.id,
            segment={"tags": ["VIP"]},
            rate_per_second=200,
        )
    return ids, no_consent.id, campaign.id


async def test_campaign_reaches_each_consenting_customer_once(
    uow, sessions, clock, smtp_sink, mail_config
) -> None:
    sink, _port = smtp_sink
    ids, no_consent, campaign_id = await _audience(uow)
    async with uow() as s:
        campaign = await start_campaign(s, campaign_id)
        assert campaign.state == "sending"
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
    assert counts["pending"] == len(ids) and counts["skipped"] == 1
    transport = SmtpTransport(mail_config)
    runner = CampaignRunner(sessions, transport, mail_config, clock=clock, batch_size=4)
    try:
        while await runner.run_once():
            pass
    finally:
        await transport.close()
    assert sorted(to for _f, [to] in sink.envelopes) == sorted(
        f"c{i}@example.com" for i in range(len(ids))
    )
    assert all(n == 1 for n in sink.by_id().values())
    message = sink.messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith("https://crm.romashka.example/unsubscribe/")
    assert link in message.get_body(("html",)).get_content()
    request = read_token("test-secret", link.rsplit("/", 1)[1])
    assert request.campaign_id == campaign_id and request.customer_id in ids
    assert message["Message-ID"] == campaign_message_id(
        mail_config, campaign_id, request.customer_id
    )
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
        skipped = await s.scalar(select(Delivery).where(Delivery.customer_id == no_consent))
    assert counts["sent"] == len(ids) and counts["pending"] == counts["sending"] == 0
    assert skipped.detail == "no consent"


async def test_lost_claim_is_resent_with_the_same_message_id_and_sent_rows_never(
    uow, sessions, clock, smtp_sink, mail_config
) -> None:
    sink, _port = smtp_sink
    ids, _nc, campaign_id = await _audience(uow, n=3)
    async with uow() as s:
        await start_campaign(s, campaign_id)
    transport = SmtpTransport(mail_config)
    runner = CampaignRunner(sessions, transport, mail_config, clock=clock)
    try:
        # A worker claims the first row, sends it, and is killed before recording it.
        batch = await runner._claim(campaign_id, 1)
        [(row, context)] = batch.rows
        result = await runner.senders.send(
            batch.campaign.channel, campaign_id, batch.template, row, context
        )
        assert result.ok and row.customer_id == ids[0]
        assert await runner.run_once() == 2  # the other rows go out; the lost one waits
        assert await runner.run_once() == 0  # the lease has not run out yet
        clock.advance(timedelta(minutes=6))
        assert await runner.run_once() == 1
        assert await runner.run_once() == 0
    finally:
        await transport.close()
    counts = sink.by_id()
    assert len(sink.messages) == 4 and len(counts) == 3
    assert counts[campaign_message_id(mail_config, campaign_id, ids[0])] == 2
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"
        assert (await delivery_counts(s, [campaign_id]))[campaign_id]["sent"] == 3


async def test_pause_stops_claims_and_unsubscribe_skips_later_rows(
    uow, sessions, clock, smtp_sink, mail_config
) -> None:
    sink, _port = smtp_sink
    ids, _nc, campaign_id = await _audience(uow, n=3)
    async with uow() as s:
        await start_campaign(s, campaign_id)
        assert (await pause_campaign(s, campaign_id)).state == "paused"
    runner = CampaignRunner(sessions, SmtpTransport(mail_config), mail_config, clock=clock)
    assert await runner.run_once() == 0 and sink.messages == []
    token = make_token("test-secret", customer_id=ids[1], channel="email", campaign_id=campaign_id)
    async with uow() as s:
        assert await unsubscribe(s, read_token("test-secret", token))
        assert not await unsubscribe(s, read_token("test-secret", token))  # once only
    async with uow() as s:
        assert (await start_campaign(s, campaign_id)).state == "sending"
    while await runner.run_once():
        pass
    await runner.transport.close()
    assert sorted(to for _f, [to] in sink.envelopes) == ["c0@example.com", "c2@example.com"]
    async with uow() as s:
        consent = await s.scalar(select(Consent).where(Consent.customer_id == ids[1]))
        event = await s.scalar(select(Event).where(Event.customer_id == ids[1]))
        row = await s.scalar(select(Delivery).where(Delivery.customer_id == ids[1]))
    assert consent.granted is False and "unsubscribe" in consent.source
    assert event.subject == "Отписка от рассылки" and event.kind == "email"
    assert row.status == "skipped" and row.detail == "unsubscribed"


def test_forged_tokens_are_refused() -> None:
    token = make_token("k", customer_id=5, channel="email", campaign_id=7)
    assert read_token("k", token).customer_id == 5
    assert read_token("other", token) is None
    assert read_token("k", token.replace("5.", "6.", 1)) is None
    assert read_token("k", "garbage") is None
