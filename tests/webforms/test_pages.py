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
