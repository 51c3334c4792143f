"""The customer pages: list, card, quick add, editing, writing from a template."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from crm_core.customers.persons import create_contact_person, list_contact_persons
from crm_core.customers.service import get_customer
from crm_core.events.service import create_event
from crm_core.invoices.service import create_invoice
from crm_core.models import Event, EventKind
from crm_core.tasks.service import create_task
from messaging.templates import create_template
from tests.backoffice.office.conftest import ADMIN_PASSWORD, _signed_in
from tests.factories.activity import make_order
from tests.factories.people import make_customer, unique_phone
from tests.messaging.conftest import Sink, _free_port

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def test_list_is_my_customers_for_a_manager_with_search_and_tags(office_manager, people, uow):
    phone = unique_phone()
    async with uow() as s:
        mine = await make_customer(
            s, name="Мой клиент", phones=[phone], tags=["vip"], responsible_id=people.manager_id
        )
        other = await make_customer(
            s, name="Чужой клиент", tags=["vip", "опт"], responsible_id=people.other_manager_id
        )
    r = await office_manager.get("/office/customers")
    assert r.status_code == 200
    assert (
        f"/office/customers/{mine.id}" in r.text and f"/office/customers/{other.id}" not in r.text
    )
    r = await office_manager.get("/office/customers?who=all&tags=опт")
    assert (
        f"/office/customers/{mine.id}" not in r.text and f"/office/customers/{other.id}" in r.text
    )
    r = await office_manager.get("/office/customers", params={"who": "all", "q": phone[-10:]})
    assert "Мой клиент" in r.text and "Чужой клиент" not in r.text
    r = await office_manager.get("/office/customers", params={"who": "all", "q": "чужой"})
    assert "Чужой клиент" in r.text and "Мой клиент" not in r.text


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=x",
        "tags=" + "x" * 400,
        "q=" + "%" * 3000,
        "who=god",
        "q=a%00b",  # NUL: PostgreSQL refuses it in text
        "tags=a%00",
    ],
)
async def test_list_survives_hostile_queries(office, query):
    r = await office.get(f"/office/customers?{query}")
    assert r.status_code == 200


async def test_card_shows_everything_about_the_customer(office, people, uow, clock):
    async with uow() as s:
        customer = await make_customer(
            s,
            name="ООО Ромашка",
            kind="company",
            phones=[unique_phone()],
            emails=["buy@romashka.example"],
            tags=["опт"],
            consents={"email": True, "sms": False},
            responsible_id=people.manager_id,
        )
        await create_contact_person(s, customer.id, name="Пётр Закупщик", position="Снабжение")
        await create_event(
            s,
            kind="call",
            subject="Звонок о поставке",
            state="completed",
            customer_id=customer.id,
            employee_id=people.admin_id,
        )
        await create_task(
            s,
            subject="Выставить счёт",
            assignee_id=people.manager_id,
            customer_id=customer.id,
            due_at=clock.now() + timedelta(days=1),
        )
        order = await make_order(
            s, customer=customer, date=clock.now(), total="1000.00", paid="500.00"
        )
        invoice = await create_invoice(s, order.id)
    r = await office.get(f"/office/customers/{customer.id}")
    assert r.status_code == 200
    for text in (
        "ООО Ромашка",
        "buy@romashka.example",
        "Пётр Закупщик",
        "Звонок о поставке",
        "Выставить счёт",
        order.number,
        invoice.number,
        "Игорь Менеджеров",
        'data-percent="50"',
    ):
        assert text in r.text, text


async def test_unknown_customers_are_not_found(office):
    for url in ("/office/customers/999999", "/office/customers/123456789012345"):
        assert (await office.get(url)).status_code == 404
    r = await office.post_form("/office/customers/999999/events", {"event_kind": "call"})
    assert r.status_code == 404


async def test_quick_add_puts_an_event_on_the_timeline(office, people, uow):
    async with uow() as s:
        customer = await make_customer(s)
    r = await office.post_form(
        f"/office/customers/{customer.id}/events",
        {
            "event_kind": "meeting",
            "subject": "Встреча в офисе",
            "body": "Обсудили КП",
            "event_state": "planned",
            "when": "2026-12-01T15:30",
        },
    )
    assert r.status_code == 303
    async with uow() as s:
        event = await s.scalar(select(Event).where(Event.customer_id == customer.id))
    assert event.kind == EventKind.MEETING and event.state == "planned"
    assert event.employee_id == people.admin_id
    assert event.starts_at.isoformat().startswith("2026-12-01T12:30")  # 15:30 Moscow
    page = await office.get(f"/office/customers/{customer.id}")
    assert "Встреча в офисе" in page.text and "Обсудили КП" in page.text
    for bad in (
        {"event_kind": "teleport", "subject": "x"},
        {"event_kind": "call", "subject": "x", "when": "вчера"},
        {"event_kind": "call", "subject": "x" * 1000},
        {"event_kind": "call", "subject": "x", "when": "99999-01-01T00:00"},
    ):
        r = await office.post_form(f"/office/customers/{customer.id}/events", bad)
        assert r.status_code == 422, bad


async def test_edit_customer_with_consents_and_errors(office, people, uow):
    async with uow() as s:
        customer = await make_customer(s, name="Было")
    r = await office.post_form(
        f"/office/customers/{customer.id}",
        {"name": "Стало", "kind": "person", "inn": "1234567890", "phones": "", "emails": ""},
    )
    assert r.status_code == 422 and 'value="Стало"' in r.text
    phone = unique_phone()
    r = await office.post_form(
        f"/office/customers/{customer.id}",
        {
            "name": "Стало",
            "kind": "company",
            "legal_name": "ООО Стало",
            "inn": "7707083893",
            "phones": phone,
            "emails": "a@example.com\nb@example.com",
            "tags": "vip, Опт",
            "responsible_id": str(people.manager_id),
            "consent_email": "1",
        },
    )
    assert r.status_code == 303, r.text
    async with uow() as s:
        customer = await get_customer(s, customer.id)
    assert customer.name == "Стало" and customer.kind == "company" and customer.inn == "7707083893"
    assert sorted(t.tag for t in customer.tags) == ["vip", "опт"]
    consents = {c.channel: c for c in customer.consents}
    assert consents["email"].granted and not consents["sms"].granted
    assert "Анна Админова" in consents["email"].source
    r = await office.post_form(f"/office/customers/{customer.id}", {"name": "", "kind": "person"})
    assert r.status_code == 422
    r = await office.post_form(f"/office/customers/{customer.id}", {"name": "x", "kind": "alien"})
    assert r.status_code == 422


async def test_csrf_is_required_and_script_is_escaped(office, uow):
    async with uow() as s:
        customer = await make_customer(
            s,
            name=SCRIPT,
            legal_name=SCRIPT,
            tags=[SCRIPT],
            consents={"email": True},
            consent_source=SCRIPT,
        )
        await create_contact_person(s, customer.id, name=SCRIPT, position=SCRIPT)
        await create_event(s, kind="call", subject=SCRIPT, body=SCRIPT, customer_id=customer.id)
    for url in (f"/office/customers/{customer.id}", "/office/customers?who=all"):
        r = await office.get(url)
        assert SCRIPT not in r.text and ESCAPED in r.text, url
    for url in ("", "/events", "/write"):
        r = await office.post(f"/office/customers/{customer.id}{url}", data={"name": "x"})
        assert r.status_code == 403


@pytest.fixture
async def mail_app(engine, sessions, clock):
    """The app with a real SMTP server (aiosmtpd) behind FIRMA_SMTP_HOST."""
    from firma.app import Runtime, create_app
    from firma.settings import Settings

    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="Уютный дом <shop@uyut.example>",
    )
    try:
        yield create_app(Runtime(settings, engine, sessions, clock)), sink
    finally:
        controller.stop()


async def test_write_a_letter_from_a_template(mail_app, people, uow):
    app, sink = mail_app
    async with uow() as s:
        customer = await make_customer(s, name="Мария", emails=["maria@example.com"])
        nomail = await make_customer(s, name="Без почты")
        letter = await create_template(
            s,
            kind="letter",
            name="Спасибо",
            subject="Спасибо, {{ customer.name }}",
            body="<p>Здравствуйте, {{ customer.name }}!</p>",
        )
        sms = await create_template(s, kind="sms", name="СМС", body="Привет")
    client = await _signed_in(app, people.admin_email, ADMIN_PASSWORD)
    try:
        page = await client.get(f"/office/customers/{customer.id}")
        assert f'value="email:{letter.id}"' in page.text and f'value="sms:{sms.id}"' in page.text
        r = await client.post_form(
            f"/office/customers/{customer.id}/write", {"template": f"email:{letter.id}"}
        )
        assert r.status_code == 303, r.text
        assert len(sink.messages) == 1
        message = sink.messages[0]
        assert message["To"] == "maria@example.com" and message["Subject"] == "Спасибо, Мария"
        page = await client.get(f"/office/customers/{customer.id}")
        assert "Спасибо, Мария" in page.text and "sent" in page.text
        r = await client.post_form(
            f"/office/customers/{nomail.id}/write", {"template": f"email:{letter.id}"}
        )
        assert r.status_code == 422 and "email" in r.text.lower()
        r = await client.post_form(
            f"/office/customers/{customer.id}/write", {"template": f"email:{sms.id}"}
        )
        assert r.status_code == 422
        for bad in ("", "fax:1", "email:x", "email:99999999999"):
            r = await client.post_form(f"/office/customers/{customer.id}/write", {"template": bad})
            assert r.status_code == 422, bad
        r = await client.post_form(
            f"/office/customers/{customer.id}/write", {"template": "telegram:1"}
        )
        assert r.status_code == 422  # no bot configured here
    finally:
        await client.aclose()
    assert len(sink.messages) == 1
    async with uow() as s:
        events = list(await s.scalars(select(Event).where(Event.customer_id == customer.id)))
    assert [(e.kind, e.data["delivery_status"]) for e in events] == [("email", "sent")]


@pytest.fixture
async def gateways_app(engine, sessions, clock):
    """The app with a fake SMS.ru and a fake Telegram Bot API on 127.0.0.1."""
    from firma.app import Runtime, create_app
    from firma.settings import Settings
    from tests.bot.fake_telegram import FakeTelegram
    from tests.messaging.fake_sms import FakeSmsRu

    sms = await FakeSmsRu().start()
    telegram = await FakeTelegram().start()
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        sms_provider="smsru",
        sms_api_url=sms.url,
        sms_api_key=sms.api_id,
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.url,
    )
    try:
        yield create_app(Runtime(settings, engine, sessions, clock), with_bot=False), sms, telegram
    finally:
        await telegram.stop()
        await sms.stop()


async def test_write_sms_and_telegram_and_invite_with_the_bots_name(gateways_app, people, uow):
    app, sms_gateway, telegram = gateways_app
    phone = unique_phone()
    async with uow() as s:
        customer = await make_customer(
            s, name="Ирина", phones=[phone], telegram_id="555001", consents={"sms": True}
        )
        sms = await create_template(s, kind="sms", name="СМС", body="Ирина, ваш заказ готов")
        tg = await create_template(
            s, kind="telegram", name="ТГ", body="Заказ готов, {{ customer.name }}"
        )
    client = await _signed_in(app, people.admin_email, ADMIN_PASSWORD)
    try:
        r = await client.post_form(
            f"/office/customers/{customer.id}/write", {"template": f"sms:{sms.id}"}
        )
        assert r.status_code == 303, r.text
        assert [(m["to"], m["text"]) for m in sms_gateway.sent] == [
            (phone.lstrip("+"), "Ирина, ваш заказ готов")
        ]
        r = await client.post_form(
            f"/office/customers/{customer.id}/write", {"template": f"telegram:{tg.id}"}
        )
        assert r.status_code == 303, r.text
        assert telegram.last("sendMessage", 555001).text == "Заказ готов, Ирина"
        telegram.fail("sendMessage", status=403, chat_id=555001)
        r = await client.post_form(
            f"/office/customers/{customer.id}/write", {"template": f"telegram:{tg.id}"}
        )
        assert r.status_code == 303
        page = await client.get(f"/office/customers/{customer.id}")
        assert "заблокировал бота" in page.text or "blocked the bot" in page.text
        r = await client.post_form(f"/office/settings/employees/{people.manager_id}/invite")
        assert "https://t.me/firma_test_bot?start=emp_" in r.text
        assert "FIRMA_TELEGRAM_BOT_TOKEN" not in r.text
    finally:
        await client.aclose()
    async with uow() as s:
        events = list(
            await s.scalars(
                select(Event).where(Event.customer_id == customer.id).order_by(Event.id)
            )
        )
    assert [(e.kind, e.data["delivery_status"]) for e in events] == [
        ("sms", "sent"),
        ("telegram", "sent"),
        ("telegram", "skipped"),
    ]


async def test_contact_persons_added_edited_and_removed(office_manager, people, uow):
    """Any manager may keep a customer's contact persons, as they may edit the customer."""
    phone, other_phone = unique_phone(), unique_phone()
    async with uow() as s:
        customer = await make_customer(
            s, name="ООО Лютик", kind="company", responsible_id=people.other_manager_id
        )
        stranger = await make_customer(s, name="Чужой")
        foreign = await create_contact_person(s, stranger.id, name="Не отсюда")
    url = f"/office/customers/{customer.id}/persons"
    r = await office_manager.post_form(
        url,
        {
            "name": "Пётр Закупщик",
            "position": "Снабжение",
            "phones": phone,
            "emails": "Petr@Lutik.example",
            "comment": "Звонить после обеда",
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#persons")
    async with uow() as s:
        [person] = await list_contact_persons(s, customer.id)
    assert (person.name, person.position, person.comment) == (
        "Пётр Закупщик",
        "Снабжение",
        "Звонить после обеда",
    )
    assert sorted(c.value for c in person.contacts) == sorted([phone, "petr@lutik.example"])
    page = await office_manager.get(f"/office/customers/{customer.id}")
    assert "Пётр Закупщик" in page.text and f"/persons/{person.id}/delete" in page.text

    r = await office_manager.post_form(
        f"{url}/{person.id}",
        {"name": "Пётр Иванович", "position": "", "phones": f"{phone}\n{other_phone}"},
    )
    assert r.status_code == 303, r.text
    async with uow() as s:
        [person] = await list_contact_persons(s, customer.id)
    assert person.name == "Пётр Иванович" and person.position is None
    assert sorted(c.value for c in person.contacts) == sorted([phone, other_phone])

    # A person of another customer is not reachable through this one.
    for target in (f"{url}/{foreign.id}", f"{url}/{foreign.id}/delete", f"{url}/99999999999"):
        r = await office_manager.post_form(target, {"name": "Угнан"})
        assert r.status_code == 404, target
    async with uow() as s:
        [still] = await list_contact_persons(s, stranger.id)
    assert still.name == "Не отсюда"

    r = await office_manager.post_form(f"{url}/{person.id}/delete")
    assert r.status_code == 303
    async with uow() as s:
        assert await list_contact_persons(s, customer.id) == []
    r = await office_manager.post_form(f"{url}/{person.id}/delete")
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "phones": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ок", "phones": "позвоните мне"}, "phones"),
        ({"name": "Ок", "phones": "+7 000 000"}, "phones"),
        ({"name": "Ок", "emails": "not-an-email"}, "emails"),
        ({"name": "Ок", "emails": "\n".join(f"a{i}@x.example" for i in range(11))}, "emails"),
        ({"name": "Ок", "position": "p" * 201}, "position"),
    ],
)
async def test_bad_contact_person_is_refused_next_to_its_field(office, uow, data, field):
    async with uow() as s:
        customer = await make_customer(s, name="ООО Лютик", kind="company")
        person = await create_contact_person(s, customer.id, name="Было", position="Было")
    for prefix, url in (
        ("person_new_", f"/office/customers/{customer.id}/persons"),
        (f"person_{person.id}_", f"/office/customers/{customer.id}/persons/{person.id}"),
    ):
        r = await office.post_form(url, data)
        assert r.status_code == 422, (url, r.text)
        assert f'id="{prefix}{field}-error"' in r.text, url
        # What was typed comes back into the same form.
        typed = data.get("phones") or data.get("emails")
        if typed and "\n" not in typed:
            assert typed in r.text
    async with uow() as s:
        [kept] = await list_contact_persons(s, customer.id)
    assert (kept.name, kept.position, kept.contacts) == ("Было", "Было", [])


async def test_contact_person_forms_need_csrf_and_escape(office, uow):
    async with uow() as s:
        customer = await make_customer(s, name="ООО Лютик", kind="company")
        person = await create_contact_person(
            s, customer.id, name=SCRIPT, position=SCRIPT, comment=SCRIPT
        )
    base = f"/office/customers/{customer.id}/persons"
    for url in (base, f"{base}/{person.id}", f"{base}/{person.id}/delete"):
        r = await office.post(url, data={"name": "x"})
        assert r.status_code == 403, url
    async with uow() as s:
        [kept] = await list_contact_persons(s, customer.id)
    assert kept.name == SCRIPT
    r = await office.get(f"/office/customers/{customer.id}")
    assert SCRIPT not in r.text and r.text.count(ESCAPED) >= 4  # shown and in the edit form
    r = await office.post_form(base, {"name": SCRIPT, "emails": SCRIPT})
    assert r.status_code == 422 and SCRIPT not in r.text
