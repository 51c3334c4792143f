"""GET /forms/{slug} and the embed script."""

from __future__ import annotations

import re

from webforms.render import script_size


async def test_page_russian_by_default_and_english(client, make_form):
    await make_form()
    r = await client.get("/forms/callback", params={"utm_source": "vk"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="ru">' in html and "Телефон" in html and "Отправить" in html
    assert 'autocomplete="tel"' in html and 'type="tel"' in html
    assert '<label for="f-phone">' in html and 'id="f-phone"' in html
    assert 'name="consent"' in html and "checked" not in html  # unticked
    assert 'name="marketing_consent"' in html and 'name="_token"' in html
    assert 'name="utm_source" value="vk"' in html
    assert "<script" not in html  # works without JavaScript
    assert not re.search(r"(src|href)=\"https?://", html)  # nothing third-party
    en = (await client.get("/forms/callback?lang=en")).text
    assert '<html lang="en">' in en and "Phone" in en and "Send" in en


async def test_html_errors_next_to_fields(client, make_form):
    await make_form()
    r = await client.post(
        "/forms/callback",
        data={"name": "Аня", "phone": "123"},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and 'id="f-phone-err"' in r.text
    assert 'value="Аня"' in r.text


async def test_embed_script(client, make_form):
    await make_form(title="</script><script>alert(1)</script>")
    r = await client.get("/forms/callback/embed.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    js = r.text
    assert "attachShadow" in js and "fetch(" in js and "utm_" in js
    assert "</script>" not in js  # the definition cannot end the host's script element
    assert script_size() < 8 * 1024


async def test_language_from_accept_language_and_explicit_choice(client, make_form):
    await make_form()
    en = await client.get("/forms/callback", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Send" in en.text
    ru = await client.get("/forms/callback", headers={"accept-language": "en;q=0.2, ru-RU"})
    assert '<html lang="ru">' in ru.text and "Отправить" in ru.text
    # ?lang= wins over the browser; a language we lack falls back to Russian.
    r = await client.get("/forms/callback?lang=ru", headers={"accept-language": "en"})
    assert '<html lang="ru">' in r.text
    de = await client.get("/forms/callback", headers={"accept-language": "de-DE, *;q=0.1"})
    assert '<html lang="ru">' in de.text
    r = await client.post(
        "/forms/callback", json={"name": "x"}, headers={"accept-language": "en-US"}
    )
    assert r.json()["errors"]["consent"].startswith("We cannot accept")
    r = await client.post("/forms/callback", json={"name": "x"})
    assert r.json()["errors"]["consent"].startswith("Без согласия")
    r = await client.get("/forms/nope", headers={"accept-language": "en"})
    assert r.status_code == 404 and r.json() == {"detail": "Form not found."}


async def test_embed_script_carries_both_languages(client, make_form):
    await make_form()
    js = (await client.get("/forms/callback/embed.js")).text
    assert "Отправить" in js and '"Send"' in js and "— выберите —" in js


def test_russian_catalog_is_complete():
    from pathlib import Path

    import webforms
    from crm_core.i18n import missing_translations
    from tests.i18n_util import extracted_messages
    from webforms.i18n import CATALOG, ERRORS, SCRIPT_TEXTS

    messages = extracted_messages(Path(webforms.__file__).parent)
    # The extraction finds the page, the script's texts and every error message.
    assert {"Send", "Form not found.", *ERRORS.values(), *SCRIPT_TEXTS.values()} <= messages
    assert missing_translations(CATALOG, "ru", messages) == []


async def test_form_definitions_cache(client, api, make_form, webforms_state, uow):
    from sqlalchemy import update

    from crm_core.models import Form

    form = await make_form()
    assert (await client.get("/forms/callback")).status_code == 200
    # Changed through the API (this process): seen at once.
    await api.patch(f"/forms/{form['id']}", json={"title": "Перезвоним за 5 минут"})
    assert "Перезвоним за 5 минут" in (await client.get("/forms/callback")).text
    # Changed by another process (here: behind the services' back): served from the
    # cache until it is form_cache_seconds old.
    async with uow() as s:
        await s.execute(update(Form).where(Form.id == form["id"]).values(enabled=False))
    webforms_state.config.form_cache_seconds = 3600
    assert (await client.get("/forms/callback")).status_code == 200
    webforms_state._cache.clear()
    assert (await client.get("/forms/callback")).status_code == 410
    assert (await client.get("/forms/callback/token")).status_code == 410


async def test_an_expired_definition_is_read_once_for_all_requests_in_flight(
    client, make_form, webforms_state, engine
):
    import asyncio

    from sqlalchemy import event

    await make_form()
    webforms_state._cache.clear()  # (as when it expires)
    reads = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "forms.slug" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(*(client.get("/forms/callback/token") for _ in range(20)))
        again = await client.get("/forms/callback/token")  # (from the cache)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert [r.status_code for r in answers] == [200] * 20 and again.status_code == 200
    assert len(reads) == 1
