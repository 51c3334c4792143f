"""A registration through the public form reaches the registrant: the outbox relay hands
``form.registration_confirmed`` to messaging, which mails it (real aiosmtpd server) and
records an ``email`` event on the lead."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_core.forms import create_form
from crm_core.models import Event, EventKind, FormSubmission, OutboxEvent, OutboxStatus
from crm_core.outbox import OutboxRelay
from messaging.email import SmtpTransport
from messaging.form_confirmations import form_confirmation_subscribers
from webforms.confirmation import confirmation_writer

FIELDS = [
    {"name": "name", "type": "name", "label": {"ru": "Имя", "en": "Name"}},
    {"name": "phone", "type": "phone", "label": {"ru": "Телефон", "en": "Phone"}},
    {"name": "email", "type": "email", "label": "Email"},
    {"name": "day", "type": "date", "label": {"ru": "Дата", "en": "Date"}, "required": True},
]


async def _register(uow, client, clock, email, *, lang="ru", phone="+79165550101"):
    async with uow() as s:
        if not await s.scalar(select(FormSubmission.id).limit(1)):
            await create_form(
                s,
                slug="masterclass",
                title="Мастер-класс <по керамике>",
                purpose="registration",
                fields=FIELDS,
                consent_text="Согласие",
                success_message="Ждём вас в 19:00.",
            )
    token = (await client.get("/forms/masterclass/token")).json()["token"]
    clock.advance(timedelta(seconds=3))
    day = (clock.now() + timedelta(days=5)).date()
    body = {"name": "Оля", "phone": phone, "day": day.isoformat(), "consent": True}
    body |= {"_token": token, "lang": lang} | ({"email": email} if email else {})
    r = await client.post("/forms/masterclass", json=body)
    assert r.status_code == 201, r.text
    return r.json()["submission_id"], day


def _relay(sessions, clock, mail_config):
    transport = SmtpTransport(mail_config)
    subscribers = form_confirmation_subscribers(
        sessions, transport, confirmation_writer("ru"), clock=clock
    )
    return OutboxRelay(sessions, subscribers, clock=clock), transport


async def test_registration_confirmation_is_mailed_once(
    uow, client, clock, sessions, smtp_sink, mail_config
):
    sink, _port = smtp_sink
    sub_id, day = await _register(uow, client, clock, "olga@example.ru")
    relay, transport = _relay(sessions, clock, mail_config)
    try:
        await relay.run_once()
        await relay.flush()
        assert len(sink.messages) == 1
        message = sink.messages[0]
        assert message["To"] == "olga@example.ru"
        assert message["Subject"] == (
            f"Запись подтверждена: Мастер-класс <по керамике>, {day:%d.%m.%Y}"
        )
        assert message["Message-ID"] == f"<form-confirmation-{sub_id}@romashka.example>"
        text = message.get_body(("plain",)).get_content()
        assert "Здравствуйте, Оля!" in text and f"{day:%d.%m.%Y}" in text
        assert "Ждём вас в 19:00." in text
        html = message.get_body(("html",)).get_content()
        assert "&lt;по керамике&gt;" in html and "<по керамике>" not in html  # escaped
        # The email is on the lead's card with its delivery status.
        async with uow() as s:
            sub = await s.get(FormSubmission, sub_id)
            [mail] = list(await s.scalars(select(Event).where(Event.kind == EventKind.EMAIL)))
            topics = {
                e.topic: e.status
                for e in await s.scalars(
                    select(OutboxEvent).where(OutboxEvent.topic == "form.registration_confirmed")
                )
            }
        assert sub.confirmation_sent_at is not None
        assert mail.lead_id == sub.lead_id and mail.direction == "outgoing"
        assert mail.state == "completed" and mail.data["delivery_status"] == "sent"
        assert mail.data["to"] == "olga@example.ru" and mail.data["submission_id"] == sub_id
        assert topics == {"form.registration_confirmed": OutboxStatus.DONE}
        # The event handed over again (a redelivery after a crash): nothing is sent twice.
        handler = relay.subscribers_for("form.registration_confirmed")[0]

        class Again:
            payload = {"submission_id": sub_id}

        await handler(Again())
        assert len(sink.messages) == 1
    finally:
        await transport.close()


async def test_confirmation_in_english_and_without_email(
    uow, client, clock, sessions, smtp_sink, mail_config
):
    sink, _port = smtp_sink
    await _register(uow, client, clock, "ann@example.com", lang="en")
    await _register(uow, client, clock, None, phone="+79165550102")  # phone only
    relay, transport = _relay(sessions, clock, mail_config)
    try:
        await relay.run_once()
        await relay.flush()
    finally:
        await transport.close()
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message["Subject"].startswith("Registration confirmed: ")
    assert "Hello, Оля!" in message.get_body(("plain",)).get_content()


async def test_transient_failure_is_retried_permanent_is_recorded(
    uow, client, clock, sessions, smtp_sink, mail_config
):
    sink, _port = smtp_sink
    busy, _ = await _register(uow, client, clock, "busy@example.ru")
    bad, _ = await _register(uow, client, clock, "bad@example.ru", phone="+79165550103")
    relay, transport = _relay(sessions, clock, mail_config)
    try:
        await relay.run_once()
        await relay.flush()
    finally:
        await transport.close()
    assert sink.messages == []
    async with uow() as s:
        subs = {n: await s.get(FormSubmission, n) for n in (busy, bad)}
        events = {
            e.payload["submission_id"]: e
            for e in await s.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "form.registration_confirmed")
            )
        }
        mails = list(await s.scalars(select(Event).where(Event.kind == EventKind.EMAIL)))
    # 451: not marked, no event on the card, the outbox will hand it over again.
    assert subs[busy].confirmation_sent_at is None
    assert events[busy].status == OutboxStatus.PENDING and events[busy].attempts == 1
    assert "451" in events[busy].last_error
    # 550: the address is bad; recorded as a failed email, not retried.
    assert subs[bad].confirmation_sent_at is not None
    assert events[bad].status == OutboxStatus.DONE
    [mail] = mails
    assert mail.state == "cancelled" and mail.data["delivery_status"] == "failed"
    assert mail.data["to"] == "bad@example.ru" and "550" in mail.data["detail"]


async def test_the_worker_registers_the_confirmation_subscriber(runtime):
    from firma.worker import subscribers

    assert "form.registration_confirmed" in subscribers(runtime)
