"""Email delivery rules over a real SMTP server: DKIM, bad addresses remembered,
campaigns that pause themselves after too many failures."""

from __future__ import annotations

import base64
from dataclasses import replace

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from crm_core.models import Delivery, SuppressedAddress
from messaging.campaigns import create_campaign, delivery_counts, get_campaign, start_campaign
from messaging.config import DkimConfig
from messaging.email import OutgoingEmail, SmtpTransport
from messaging.runner import CampaignRunner
from messaging.templates import create_template
from tests.factories.people import make_customer
from tests.messaging.running import drain


@pytest.fixture
def dkim_key(tmp_path) -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return str(path), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


async def test_dkim_signature_verifies_against_the_key(smtp_sink, mail_config, dkim_key) -> None:
    sink, _port = smtp_sink
    path, record = dkim_key
    config = replace(mail_config, dkim=DkimConfig("mail", "romashka.example", path))
    transport = SmtpTransport(config)
    try:
        result = await transport.send(
            OutgoingEmail(
                to="client@example.com",
                subject="Привет",
                text="Текст",
                html="<p>Текст</p>",
                headers={"List-Unsubscribe": "<https://x/u>"},
            )
        )
    finally:
        await transport.close()
    assert result.ok
    [raw] = sink.raw
    signature = sink.messages[0]["DKIM-Signature"]
    assert "d=romashka.example" in signature and "s=mail" in signature
    assert "list-unsubscribe" in signature.lower()

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail._domainkey.romashka.example."
        return record

    assert dkim.verify(raw, dnsfunc=dns)
    tampered = raw.replace(b"client@example.com", b"other@example.com", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


async def _email_campaign(uow, emails: list[str], **extra) -> int:
    async with uow() as s:
        for address in emails:
            await make_customer(s, emails=[address], tags=["m"], consents={"email": True})
        template = await create_template(s, kind="letter", name="L", subject="S", body="<p>x</p>")
        campaign = await create_campaign(
            s,
            name="C",
            channel="email",
            template_id=template.id,
            segment={"tags": ["m"]},
            rate_per_second=500,
            **extra,
        )
        await start_campaign(s, campaign.id)
    return campaign.id


async def test_permanent_refusal_marks_the_address_bad_for_later_campaigns(
    uow, sessions, clock, smtp_sink, mail_config
) -> None:
    sink, _port = smtp_sink
    first = await _email_campaign(uow, ["bad@x.example", "busy@x.example", "ok@x.example"])
    transport = SmtpTransport(mail_config)
    runner = CampaignRunner(sessions, transport, mail_config, clock=clock)
    try:
        await drain(runner)
        async with uow() as s:
            second = await create_campaign(
                s,
                name="Again",
                channel="email",
                template_id=(await get_campaign(s, first)).template_id,
                segment={"tags": ["m"]},
            )
            await start_campaign(s, second.id)
        await drain(runner)
    finally:
        await transport.close()
    async with uow() as s:
        suppressed = list(await s.scalars(select(SuppressedAddress)))
        rows = {
            (r.campaign_id, r.address): r
            for r in await s.scalars(select(Delivery).order_by(Delivery.id))
        }
    # 550 at RCPT: bad for good; 451: only this attempt (retried later), never suppressed.
    assert [a.address for a in suppressed] == ["bad@x.example"]
    assert "550" in suppressed[0].reason
    assert rows[(first, "bad@x.example")].status == "failed"
    assert rows[(first, "busy@x.example")].status == "pending"  # waiting for its retry
    assert rows[(second.id, "bad@x.example")].status == "skipped"
    assert rows[(second.id, "bad@x.example")].detail == "bad address"
    assert [to for _f, [to] in sink.envelopes] == ["ok@x.example", "ok@x.example"]


async def test_campaign_pauses_itself_after_too_many_failures(
    uow, sessions, clock, smtp_sink, mail_config
) -> None:
    emails = [f"bad@d{i}.example" for i in range(5)] + [f"ok{i}@x.example" for i in range(5)]
    campaign_id = await _email_campaign(uow, emails, max_errors=3)
    transport = SmtpTransport(mail_config)
    runner = CampaignRunner(sessions, transport, mail_config, clock=clock, concurrency=1)
    try:
        await drain(runner)
        async with uow() as s:
            campaign = await get_campaign(s, campaign_id)
            counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
        assert campaign.state == "paused"
        assert campaign.pause_reason == "Paused after 4 failed deliveries (limit 3)"
        assert counts["failed"] == 4 and counts["pending"] == 6
        async with uow() as s:  # the manager looks, and resumes: the count starts afresh
            resumed = await start_campaign(s, campaign_id)
        assert resumed.state == "sending" and resumed.recent_failures == 0
        await drain(runner)
    finally:
        await transport.close()
    async with uow() as s:
        campaign = await get_campaign(s, campaign_id)
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
    assert campaign.state == "finished" and campaign.pause_reason is None
    assert counts["failed"] == 5 and counts["sent"] == 5
