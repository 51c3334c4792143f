"""Every message messaging shows customers has its Russian translation, and the
pages answer in the visitor's language."""

from __future__ import annotations

from pathlib import Path

from crm_core.i18n import missing_translations
from messaging.i18n import catalog
from messaging.unsubscribe import make_token
from tests.factories.people import make_customer
from tests.i18n_util import extracted_messages

PACKAGE = Path(__file__).resolve().parents[2] / "messaging"


def test_every_message_has_a_russian_translation() -> None:
    messages = extracted_messages(PACKAGE)
    assert {"Unsubscribe: {url}", "Unsubscribe", "You have been unsubscribed"} <= messages
    assert missing_translations(catalog, "ru", messages) == []


async def test_unsubscribe_page_speaks_russian_first_english_on_request(client, uow) -> None:
    async with uow() as s:
        customer = await make_customer(s, phones=["+79161234567"], consents={"sms": True})
    token = make_token("dev-secret-change-me", customer_id=customer.id, channel="sms")
    ru = await client.get(f"/unsubscribe/{token}")
    assert ru.status_code == 200 and 'lang="ru"' in ru.text
    assert "Мы больше не будем писать вам по SMS." in ru.text
    en = await client.get(f"/unsubscribe/{token}", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert 'lang="en"' in en.text and "We will not write to you by SMS any more." in en.text
    forged = await client.get(f"/unsubscribe/{token[:-2]}xx?lang=en")
    assert forged.status_code == 404 and "This link is not valid" in forged.text
