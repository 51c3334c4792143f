"""Helpers for the public form tests: a form made through the API, a valid token."""

from __future__ import annotations

from datetime import timedelta

import pytest

CONSENT = "Согласен на обработку персональных данных (152-ФЗ), версия 1"
MARKETING = "Согласен получать рекламу (38-ФЗ)"


def form_body(**over):
    body = {
        "slug": "callback",
        "title": "Обратный звонок",
        "purpose": "lead",
        "fields": [
            {"name": "name", "type": "name", "label": {"ru": "Имя", "en": "Name"}},
            {"name": "phone", "type": "phone", "label": {"ru": "Телефон", "en": "Phone"}},
            {"name": "email", "type": "email", "label": "Email"},
            {"name": "message", "type": "textarea", "label": {"ru": "Вопрос", "en": "Question"}},
        ],
        "consent_text": CONSENT,
        "marketing_consent_text": MARKETING,
        "allowed_origins": ["https://shop.example.ru"],
        "success_message": "Спасибо, перезвоним!",
    }
    body.update(over)
    return body


@pytest.fixture
def webforms_state(app):
    """The mounted ``/forms`` application's state (config, limiter)."""
    for route in app.routes:
        if getattr(route, "path", None) == "/forms":
            return route.app.state.webforms
    raise AssertionError("webforms not mounted")


@pytest.fixture
async def make_form(api):
    async def _make(**over):
        r = await api.post("/forms", json=form_body(**over))
        assert r.status_code == 201, r.text
        return r.json()

    return _make


@pytest.fixture
def token_for(client, clock):
    """A token fetched now, with the clock moved past the minimum fill time."""

    async def _token(slug="callback"):
        r = await client.get(f"/forms/{slug}/token")
        assert r.status_code == 200, r.text
        clock.advance(timedelta(seconds=3))
        return r.json()["token"]

    return _token
