"""Office fixtures: staff accounts and signed-in HTTP clients over the real app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.factories.people import make_employee

ADMIN_PASSWORD = "admin-pass-2026"
MANAGER_PASSWORD = "manager-pass-2026"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class People:
    admin_id: int
    admin_email: str
    manager_id: int
    manager_email: str
    other_manager_id: int


@pytest.fixture
async def people(uow) -> People:
    async with uow() as s:
        admin = await make_employee(
            s,
            name="Анна Админова",
            email="anna@firma-test.ru",
            role="admin",
            password=ADMIN_PASSWORD,
        )
        manager = await make_employee(
            s, name="Игорь Менеджеров", email="igor@firma-test.ru", password=MANAGER_PASSWORD
        )
        other = await make_employee(
            s, name="Олег Другой", email="oleg@firma-test.ru", password=MANAGER_PASSWORD
        )
    return People(admin.id, admin.email, manager.id, manager.email, other.id)


class OfficeClient(httpx.AsyncClient):
    """An httpx client signed in to the office; ``csrf`` is its session's token."""

    csrf: str = ""

    async def post_form(self, url: str, data: dict | None = None, **kwargs) -> httpx.Response:
        return await self.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    async def post_json(self, url: str, data: dict | None = None) -> httpx.Response:
        return await self.post(
            url,
            json=data or {},
            headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
        )


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/office/login")
    token = CSRF_FIELD.search(page.text).group(1)
    return await client.post(
        "/office/login", data={"email": email, "password": password, "csrf_token": token}
    )


async def _signed_in(app, email: str, password: str) -> OfficeClient:
    client = OfficeClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    response = await sign_in(client, email, password)
    assert response.status_code == 303, response.text
    page = await client.get("/office/profile")
    client.csrf = CSRF_META.search(page.text).group(1)
    return client


@pytest.fixture
async def office(app, people) -> AsyncIterator[OfficeClient]:
    """Signed in as the administrator."""
    client = await _signed_in(app, people.admin_email, ADMIN_PASSWORD)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def office_manager(app, people) -> AsyncIterator[OfficeClient]:
    """Signed in as an ordinary manager."""
    client = await _signed_in(app, people.manager_email, MANAGER_PASSWORD)
    try:
        yield client
    finally:
        await client.aclose()
