from __future__ import annotations

from tests.factories.people import make_customer


async def test_template_crud_and_render(api, uow) -> None:
    async with uow() as s:
        customer = await make_customer(s, name="ООО Клиент", emails=["c@example.com"])
    created = await api.post(
        "/templates",
        json={
            "kind": "letter",
            "name": "Привет",
            "subject": "Для {{ customer.name }}",
            "body": "<p>Здравствуйте, {{ customer.name }}! {{ 1250 | money }}</p>",
        },
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    listed = await api.get("/templates", params={"kind": "letter"})
    assert listed.json()["total"] == 1
    rendered = await api.post(f"/templates/{template_id}/render", json={"customer_id": customer.id})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "subject": "Для ООО Клиент",
        "html": "<p>Здравствуйте, ООО Клиент! 1 250,00 ₽</p>",
        "text": "Здравствуйте, ООО Клиент! 1 250,00 ₽",
    }
    patched = await api.patch(f"/templates/{template_id}", json={"name": "Новое"})
    assert patched.json()["name"] == "Новое"
    assert (await api.delete(f"/templates/{template_id}")).status_code == 204
    assert (await api.get(f"/templates/{template_id}")).status_code == 404


async def test_sandbox_escape_is_a_clear_422(api) -> None:
    created = await api.post(
        "/templates", json={"kind": "sms", "name": "x", "body": "{{ ''.__class__ }}"}
    )
    answer = await api.post(f"/templates/{created.json()['id']}/render", json={})
    assert answer.status_code == 422
    assert "'__class__'" in answer.json()["detail"] and "not allowed" in answer.json()["detail"]
    bad = await api.post("/templates", json={"kind": "letter", "name": "x", "body": "{% for %}"})
    assert bad.status_code == 422 and bad.json()["field"] == "body"
