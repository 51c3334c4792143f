"""A cancelled campaign settles: rows a worker had claimed when the cancel came end
skipped once their in-flight send resolves or their lease runs out — none handed to
the transport after the worker saw the cancel, none left pending or sending."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from crm_core.models import Channel, Delivery
from messaging.campaigns import cancel_campaign, create_campaign, delivery_counts, start_campaign
from messaging.config import MessagingConfig
from messaging.outcome import SendResult
from messaging.pacing import ClockTimer
from messaging.runner import CampaignRunner
from messaging.templates import create_template
from tests.messaging.bulk import address, bulk_customers

CONFIG = MessagingConfig(
    mail_from="Firma <shop@firma.example>",
    secret_key="test-secret",
    public_url="https://crm.firma.example",
)


class GatedTransport:
    """Holds every send until the test answers it: ``answers`` maps a recipient to
    its result (or an exception to raise); the rest are accepted."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        self.answers: dict[str, SendResult | Exception] = {}

    async def send(self, email) -> SendResult:
        self.calls.append(email.to)
        await self.gate.wait()
        answer = self.answers.get(email.to, SendResult(True, email.message_id, "250 OK"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close(self) -> None:
        return None


async def _campaign(uow, clock, n: int) -> int:
    async with uow() as s:
        await bulk_customers(s, n, Channel.EMAIL, at=clock.now())
        template = await create_template(s, kind="letter", name="L", subject="Hi", body="<p>x</p>")
        campaign = await create_campaign(
            s,
            name="C",
            channel="email",
            template_id=template.id,
            segment={"tags": ["bulk"]},
            rate_per_second=10,
        )
        await start_campaign(s, campaign.id)
    return campaign.id


async def _counts(uow, campaign_id: int) -> dict[str, int]:
    async with uow() as s:
        return (await delivery_counts(s, [campaign_id]))[campaign_id]


async def test_sends_in_flight_at_the_cancel_settle_and_nothing_more_goes_out(
    uow, sessions, clock
) -> None:
    n, concurrency = 40, 4
    campaign_id = await _campaign(uow, clock, n)
    transport = GatedTransport()
    runner = CampaignRunner(
        sessions, transport, CONFIG, clock=clock, timer=ClockTimer(clock), concurrency=concurrency
    )
    passing = asyncio.create_task(runner.run_once())
    for _ in range(2000):  # until every sender holds a message in the transport
        if len(transport.calls) == concurrency or passing.done():
            break
        await asyncio.sleep(0.005)
    assert len(transport.calls) == concurrency
    async with uow() as s:
        await cancel_campaign(s, campaign_id)
    clock.advance(timedelta(seconds=1))  # the worker looks at the campaign again
    first, busy, bad, broken = transport.calls
    transport.answers = {
        busy: SendResult(False, "", "451 4.3.0 Try again later"),
        bad: SendResult(False, "", "550 5.1.1 No such user", permanent=True),
        broken: OSError("connection reset"),
    }
    transport.gate.set()
    await asyncio.wait_for(passing, 30)
    assert transport.calls == [first, busy, bad, broken]  # nothing handed on after
    await runner.run_once()  # a later pass changes nothing
    assert len(transport.calls) == concurrency
    async with uow() as s:
        rows = {
            r.address: r
            for r in await s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id))
        }
    counts = await _counts(uow, campaign_id)
    # What went out is sent, what the server refused for good failed; every other
    # row — the two that would have been retried included — is skipped for good.
    assert rows[first].status == "sent" and rows[bad].status == "failed"
    assert rows[busy].status == rows[broken].status == "skipped"
    assert rows[busy].retry_at is None and rows[busy].detail == "campaign cancelled"
    assert counts == {"pending": 0, "sending": 0, "sent": 1, "failed": 1, "skipped": n - 2}


async def test_a_dead_workers_claims_in_a_cancelled_campaign_end_skipped_at_the_lease(
    uow, sessions, clock
) -> None:
    n = 10
    campaign_id = await _campaign(uow, clock, n)
    lost = [address(Channel.EMAIL, i) for i in range(3)]
    async with uow() as s:  # a worker claimed three rows, then died
        await s.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id, Delivery.address.in_(lost))
            .values(status="sending", claimed_at=clock.now(), attempts=1)
        )
        await cancel_campaign(s, campaign_id)
    transport = GatedTransport()
    transport.gate.set()
    runner = CampaignRunner(sessions, transport, CONFIG, clock=clock, timer=ClockTimer(clock))
    await runner.run_once()
    # Within the lease the claimer may still be sending them: left as they are.
    assert (await _counts(uow, campaign_id))["sending"] == 3
    clock.advance(runner.lease + timedelta(seconds=1))
    await runner.run_once()
    await runner.run_once()
    assert transport.calls == []
    assert await _counts(uow, campaign_id) == {
        "pending": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "skipped": n,
    }
