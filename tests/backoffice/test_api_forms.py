"""REST: /forms and /forms/{id}/submissions."""

from __future__ import annotations

from tests.webforms.conftest import CONSENT, form_body


async def test_create_read_patch_list(api):
    r = await api.post("/forms", json=form_body())
    assert r.status_code == 201, r.text
    form = r.json()
    for key in ("id", "url", "embed_snippet", "consent_version", "consent_sha256"):
        assert key in form
    assert form["url"].endswith("/forms/callback")
    assert 'data-form="callback"' in form["embed_snippet"]
    assert form["fields"][0]["label"] == {"ru": "Имя", "en": "Name"}
    assert form["fields"][2]["label"] == {"ru": "Email", "en": "Email"}
    assert (await api.get(f"/forms/{form['id']}")).json() == form
    # The same consent text on another form is the same version: stored once.
    other = (await api.post("/forms", json=form_body(slug="other"))).json()
    assert other["consent_version"] == form["consent_version"]
    r = await api.patch(f"/forms/{form['id']}", json={"consent_text": CONSENT + ", версия 2"})
    changed = r.json()
    assert changed["consent_version"] != form["consent_version"]
    assert changed["consent_sha256"] != form["consent_sha256"]
    listed = (await api.get("/forms")).json()
    assert listed["total"] == 2 and [f["slug"] for f in listed["items"]] == ["callback", "other"]


async def test_bad_definitions(api):
    assert (await api.post("/forms", json=form_body(slug="Bad Slug"))).status_code == 422
    bad_field = form_body(fields=[{"name": "x", "type": "color", "label": "X"}])
    assert (await api.post("/forms", json=bad_field)).status_code == 422
    no_contact = form_body(fields=[{"name": "city", "type": "text", "label": "Город"}])
    r = await api.post("/forms", json=no_contact)
    assert r.status_code == 422 and r.json()["field"] == "fields"
    reg = form_body(purpose="registration")
    assert (await api.post("/forms", json=reg)).status_code == 422  # needs a date field
    select = form_body(
        fields=[
            {"name": "phone", "type": "phone", "label": "T"},
            {"name": "c", "type": "select", "label": "C"},
        ]
    )
    assert (await api.post("/forms", json=select)).status_code == 422
    origins = form_body(allowed_origins=["javascript:alert(1)"])
    assert (await api.post("/forms", json=origins)).status_code == 422
    assert (await api.post("/forms", json=form_body(responsible_id=99999))).status_code == 422
    assert (await api.post("/forms", json=form_body(color="red"))).status_code == 422
    assert (await api.post("/forms", json=form_body())).status_code == 201
    assert (await api.post("/forms", json=form_body())).status_code == 409
    assert (await api.get("/forms/99999")).status_code == 404
    assert (await api.get("/forms/99999/submissions")).status_code == 404


async def test_submissions_filter_by_status(api, client):
    form = (await api.post("/forms", json=form_body())).json()
    r = await client.post("/forms/callback", json={"phone": "+79161231231", "consent": True})
    assert r.status_code == 201  # no token: kept as spam
    spam = (await api.get(f"/forms/{form['id']}/submissions", params={"status": "spam"})).json()
    assert spam["total"] == 1 and spam["items"][0]["error"] == "no_token"
    none = await api.get(f"/forms/{form['id']}/submissions", params={"status": "processed"})
    assert none.json()["total"] == 0
    r = await api.get(f"/forms/{form['id']}/submissions", params={"status": "bogus"})
    assert r.status_code == 422
