"""The SMSC.ru provider against a fake gateway speaking its documented HTTP API: each
answer becomes the right result, and an SMSC campaign pauses on an empty balance,
marks unreachable numbers bad and, once topped up, reaches everyone exactly once."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from crm_core.models import Delivery, SuppressedAddress
from messaging.campaigns import create_campaign, delivery_counts, get_campaign, start_campaign
from messaging.config import MessagingConfig, SmsConfig
from messaging.runner import CampaignRunner
from messaging.sms import SmscProvider, create_sms_provider
from messaging.templates import create_template
from tests.factories.people import make_customer
from tests.messaging.running import drain

CONFIG = MessagingConfig(secret_key="test-secret", public_url="https://crm.example")


async def test_smsc_answers_become_results(smsc, smsc_config) -> None:
    smsc.unreachable.add("79990000001")
    provider = SmscProvider(smsc_config)
    try:
        ok = await provider.send("+79161234567", "Привет")
        again = await provider.send("+79161234567", "Привет")  # the same, within a minute
        smsc.clock.t += 61
        later = await provider.send("+79161234567", "Привет")
        unreachable = await provider.send("+79990000001", "Привет")
        malformed = await provider.send("+7916", "Привет")
        smsc.down = 1
        down = await provider.send("+79161234568", "Привет")
        smsc.balance = 1.0
        broke = await provider.send("+79161234569", "Привет")
    finally:
        await provider.close()
    assert ok.ok and ok.message_id == "1" and ok.detail == "accepted, 1 part(s)"
    assert not again.ok and not again.permanent and not again.outage and "SMSC 9" in again.detail
    assert later.ok and later.message_id == "2"
    assert not unreachable.ok and unreachable.bad_address and "SMSC 8" in unreachable.detail
    assert not malformed.ok and malformed.bad_address and "SMSC 7" in malformed.detail
    assert not down.ok and down.outage and not down.permanent and "503" in down.detail
    assert not broke.ok and broke.fatal and "SMSC 3" in broke.detail
    assert [m["id"] for m in smsc.sent] == [1, 2]
    form = smsc.requests[0]
    assert (form["apikey"], form["phones"], form["mes"]) == (smsc.apikey, "+79161234567", "Привет")
    assert (form["fmt"], form["charset"]) == ("3", "utf-8") and "sender" not in form


async def test_account_errors_are_fatal_and_login_password_works(smsc, smsc_config) -> None:
    wrong = SmscProvider(replace(smsc_config, api_key="nope"))
    by_login = SmscProvider(replace(smsc_config, api_key=f"{smsc.login}:{smsc.password}"))
    unapproved = SmscProvider(replace(smsc_config, sender="Unknown"))
    approved = SmscProvider(replace(smsc_config, sender="Firma"))
    try:
        refused = await wrong.send("+79161234567", "x")
        logged_in = await by_login.send("+79161234567", "x")
        denied = await unapproved.send("+79161234568", "x")
        named = await approved.send("+79161234569", "x")
    finally:
        for provider in (wrong, by_login, unapproved, approved):
            await provider.close()
    assert not refused.ok and refused.fatal and "SMSC 2" in refused.detail
    assert logged_in.ok
    assert (smsc.requests[1]["login"], smsc.requests[1]["psw"]) == (smsc.login, smsc.password)
    assert "apikey" not in smsc.requests[1]
    assert not denied.ok and denied.fatal and "SMSC 6" in denied.detail
    assert named.ok and smsc.requests[3]["sender"] == "Firma"


async def test_unreachable_gateway_and_odd_answers() -> None:
    provider = SmscProvider(SmsConfig(provider="smsc", api_url="http://127.0.0.1:1", api_key="k"))
    try:
        result = await provider.send("+79161234567", "x")
    finally:
        await provider.close()
    assert not result.ok and result.outage
    assert SmscProvider._result({"id": 5, "cnt": 2}).detail == "accepted, 2 part(s)"
    odd = SmscProvider._result({})  # neither an id nor an error: try again later
    assert not odd.ok and not odd.permanent and not odd.fatal
    unknown = SmscProvider._result({"error": "?", "error_code": 42})
    assert not unknown.ok and unknown.permanent and not unknown.fatal


def test_smsc_is_chosen_by_name() -> None:
    assert isinstance(create_sms_provider(SmsConfig(provider="smsc", api_key="k")), SmscProvider)
    with pytest.raises(ValueError, match="API_KEY"):
        create_sms_provider(SmsConfig(provider="smsc"))


async def test_smsc_campaign_pauses_when_broke_and_marks_unreachable_numbers(
    uow, sessions, clock, smsc, smsc_config
) -> None:
    phones = [f"+7916123456{i}" for i in range(5)] + ["+79990000001"]
    smsc.unreachable.add("79990000001")
    smsc.balance = 2 * 2 * smsc.price  # two messages of two parts each
    async with uow() as s:
        ids = [
            (await make_customer(s, phones=[p], tags=["sms"], consents={"sms": True})).id
            for p in phones
        ]
        template = await create_template(
            s, kind="sms", name="Promo", body="{{ customer.name }}, скидка 10% до пятницы"
        )
        campaign = await create_campaign(
            s, name="SMSC", channel="sms", template_id=template.id, segment={"tags": ["sms"]}
        )
        await start_campaign(s, campaign.id)
    provider = SmscProvider(smsc_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock, concurrency=1)
    try:
        await drain(runner)
        async with uow() as s:
            paused = await get_campaign(s, campaign.id)
            counts = (await delivery_counts(s, [campaign.id]))[campaign.id]
        assert paused.state == "paused" and "SMSC 3" in paused.pause_reason
        assert counts["sent"] == 2 and counts["failed"] == 0 and counts["pending"] == 4
        smsc.balance = 1000  # the firm tops up and resumes, more than a minute later
        smsc.clock.t += 61  # (SMSC refuses the same request again within a minute: 9)
        async with uow() as s:
            await start_campaign(s, campaign.id)
        await drain(runner)
    finally:
        await provider.close()
    reached = sorted(m["to"] for m in smsc.sent)
    assert reached == phones[:5]  # each once: the rows that waited were not sent twice
    assert all(m["text"].splitlines()[-1].startswith("Отписаться: https://") for m in smsc.sent)
    async with uow() as s:
        assert (await get_campaign(s, campaign.id)).state == "finished"
        bad = await s.scalar(select(SuppressedAddress))
        row = await s.scalar(
            select(Delivery).where(
                Delivery.campaign_id == campaign.id, Delivery.customer_id == ids[-1]
            )
        )
        sent = list(await s.scalars(select(Delivery).where(Delivery.status == "sent")))
    assert bad.channel == "sms" and bad.address == "+79990000001" and "SMSC 8" in bad.reason
    assert row.status == "failed" and "SMSC 8" in row.detail
    assert {r.message_id for r in sent} == {str(m["id"]) for m in smsc.sent}
