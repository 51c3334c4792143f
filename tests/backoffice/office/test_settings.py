"""Settings: administrators only; requisites, employees and Telegram invites, API
tokens, price kinds, web forms."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm_core.employees.tokens import resolve_api_token
from crm_core.invoices.firm import get_firm
from crm_core.models import ApiToken, Employee, EmployeeInvite, Form, PriceKind, Role

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

ADMIN_PAGES = [
    ("get", "/office/settings"),
    ("get", "/office/settings/employees/1"),
    ("get", "/office/settings/forms/new"),
    ("get", "/office/settings/forms/1"),
    ("post", "/office/settings/firm"),
    ("post", "/office/settings/employees"),
    ("post", "/office/settings/employees/1"),
    ("post", "/office/settings/employees/1/invite"),
    ("post", "/office/settings/tokens"),
    ("post", "/office/settings/tokens/1/revoke"),
    ("post", "/office/settings/price-kinds"),
    ("post", "/office/settings/price-kinds/1"),
    ("post", "/office/settings/forms"),
    ("post", "/office/settings/forms/1"),
]


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
async def test_a_manager_gets_403_everywhere(office_manager, method, url):
    if method == "get":
        r = await office_manager.get(url)
    else:
        r = await office_manager.post_form(url, {"name": "x", "role": "admin", "active": "1"})
    assert r.status_code == 403, url


async def test_the_manager_cannot_make_himself_admin(office_manager, people, uow):
    r = await office_manager.post_form(
        f"/office/settings/employees/{people.manager_id}", {"role": "admin", "active": "1"}
    )
    assert r.status_code == 403
    async with uow() as s:
        assert (await s.get(Employee, people.manager_id)).role == Role.MANAGER


async def test_posts_need_the_csrf_token(office):
    for _method, url in ADMIN_PAGES:
        if _method == "post":
            r = await office.post(url, data={"name": "x"})
            assert r.status_code == 403, url


async def test_requisites_are_saved_and_checked(office, uow):
    r = await office.post_form(
        "/office/settings/firm", {"name": "ООО «Уют»", "inn": "7707083893", "bik": "12"}
    )
    assert r.status_code == 422 and "ООО «Уют»" in r.text
    r = await office.post_form(
        "/office/settings/firm",
        {"name": SCRIPT, "inn": "7707083893", "bik": "044525225", "director": "Иванов И. И."},
    )
    assert r.status_code == 303
    async with uow() as s:
        firm = await get_firm(s)
    assert firm["name"] == SCRIPT and firm["bik"] == "044525225"
    page = await office.get("/office/settings")
    assert ESCAPED in page.text and SCRIPT not in page.text


async def test_add_and_edit_an_employee(office, people, uow):
    r = await office.post_form(
        "/office/settings/employees",
        {"name": SCRIPT, "email": "new@firma-test.ru", "role": "manager", "password": "x" * 12},
    )
    assert r.status_code == 303
    eid = int(r.headers["location"].rsplit("/", 1)[1])
    r = await office.post_form(
        "/office/settings/employees",
        {"name": "Дубль", "email": "NEW@firma-test.ru", "role": "manager"},
    )
    assert r.status_code == 422 and "new@firma-test.ru" in r.text
    for bad in (
        {"name": "x", "email": "not-an-email"},
        {"name": "x", "email": "a@b.ru", "role": "god"},
        {"name": "x", "email": "c@b.ru", "password": "short"},
    ):
        r = await office.post_form("/office/settings/employees", bad)
        assert r.status_code == 422, bad
    page = await office.get(f"/office/settings/employees/{eid}")
    assert ESCAPED in page.text and SCRIPT not in page.text
    r = await office.post_form(
        f"/office/settings/employees/{eid}", {"name": "Новый Админ", "role": "admin"}
    )
    assert r.status_code == 303
    async with uow() as s:
        employee = await s.get(Employee, eid)
        assert (
            employee.role == Role.ADMIN and not employee.active and employee.name == "Новый Админ"
        )
    r = await office.post_form(
        f"/office/settings/employees/{eid}", {"name": "x", "role": "root", "active": "1"}
    )
    assert r.status_code == 422
    assert (await office.get("/office/settings/employees/999999")).status_code == 404


async def test_an_admin_cannot_lock_himself_out(office, people, uow):
    r = await office.post_form(
        f"/office/settings/employees/{people.admin_id}", {"name": "Анна", "role": "manager"}
    )
    assert r.status_code == 422
    async with uow() as s:
        admin = await s.get(Employee, people.admin_id)
        assert admin.role == Role.ADMIN and admin.active
    assert (await office.get("/office/settings")).status_code == 200


async def test_invite_shows_a_link_and_a_qr_code(office, people, uow):
    r = await office.post_form(f"/office/settings/employees/{people.manager_id}/invite")
    assert r.status_code == 200
    link = re.search(r'id="invite-link">(https://t\.me/[^<]+)<', r.text).group(1)
    assert link.startswith("https://t.me/YOUR_BOT?start=emp_")
    assert "<svg" in r.text and 'class="qr"' in r.text and "FIRMA_TELEGRAM_BOT_TOKEN" in r.text
    async with uow() as s:
        invites = list(await s.scalars(select(EmployeeInvite)))
    assert [i.employee_id for i in invites] == [people.manager_id]
    code = link.split("start=emp_")[1]
    assert code not in invites[0].code_hash  # only the hash is kept


async def test_unreachable_telegram_is_shown(office, people, uow):
    async with uow() as s:
        manager = await s.get(Employee, people.manager_id)
        manager.telegram_user_id = 777000
        manager.telegram_unreachable = True
    page = await office.get(f"/office/settings/employees/{people.manager_id}")
    assert 'class="badge bad"' in page.text
    page = await office.get("/office/settings")
    assert "badge bad" in page.text


async def test_api_token_is_shown_once_and_can_be_revoked(office, uow):
    r = await office.post_form("/office/settings/tokens", {"name": "Интернет-магазин"})
    assert r.status_code == 200
    token = re.search(r'id="new-token">([^<]+)<', r.text).group(1)
    async with uow() as s:
        row = await resolve_api_token(s, token)
        assert row is not None and row.name == "Интернет-магазин"
    page = await office.get("/office/settings")
    assert token not in page.text and token[:10] in page.text
    r = await office.post_form(f"/office/settings/tokens/{row.id}/revoke")
    assert r.status_code == 303
    async with uow() as s:
        assert await resolve_api_token(s, token) is None
    assert (await office.post_form("/office/settings/tokens", {"name": " "})).status_code == 422
    r = await office.post_form("/office/settings/tokens/999999/revoke")
    assert r.status_code == 404
    async with uow() as s:
        assert len(list(await s.scalars(select(ApiToken)))) == 1


async def test_price_kinds(office, uow):
    r = await office.post_form(
        "/office/settings/price-kinds", {"code": "dealer", "name": "Дилерская"}
    )
    assert r.status_code == 303
    r = await office.post_form("/office/settings/price-kinds", {"code": "dealer", "name": "X"})
    assert r.status_code == 422
    async with uow() as s:
        dealer = await s.scalar(select(PriceKind).where(PriceKind.code == "dealer"))
    r = await office.post_form(
        f"/office/settings/price-kinds/{dealer.id}", {"name": "Для дилеров", "is_default": "1"}
    )
    assert r.status_code == 303
    async with uow() as s:
        kinds = {k.code: k for k in await s.scalars(select(PriceKind))}
    assert kinds["dealer"].is_default and kinds["dealer"].name == "Для дилеров"
    assert not kinds["retail"].is_default
    r = await office.post_form(f"/office/settings/price-kinds/{dealer.id}", {"name": ""})
    assert r.status_code == 422


async def test_create_and_edit_a_web_form_with_its_snippet(office, people, uow):
    r = await office.post_form(
        "/office/settings/forms",
        {
            "slug": "zamer",
            "title": SCRIPT,
            "purpose": "lead",
            "field_name": "1",
            "field_phone": "1",
            "consent_text": "Согласен на обработку персональных данных",
            "allowed_origins": "https://uyut.example\nhttps://shop.uyut.example",
            "enabled": "1",
        },
    )
    assert r.status_code == 303, r.text
    fid = int(r.headers["location"].split("/")[-1].split("?")[0])
    page = await office.get(f"/office/settings/forms/{fid}")
    assert ESCAPED in page.text and SCRIPT not in page.text
    assert (
        "&lt;script src=&#34;http://127.0.0.1:8000/forms/zamer/embed.js&#34; "
        "data-form=&#34;zamer&#34; async&gt;&lt;/script&gt;" in page.text
    )
    r = await office.post_form(
        f"/office/settings/forms/{fid}",
        {
            "title": "Замер",
            "consent_text": "Согласен",
            "allowed_origins": "javascript:alert(1)",
        },
    )
    assert r.status_code == 422
    r = await office.post_form(
        f"/office/settings/forms/{fid}",
        {"title": "Замер", "consent_text": "Согласен", "responsible_id": str(people.manager_id)},
    )
    assert r.status_code == 303
    async with uow() as s:
        form = await s.get(Form, fid)
    assert form.title == "Замер" and not form.enabled and form.responsible_id == people.manager_id
    assert [f["name"] for f in form.fields] == ["name", "phone"]
    for bad in (
        {"slug": "Плохой", "title": "x", "field_name": "1", "consent_text": "c"},
        {"slug": "nofields", "title": "x", "consent_text": "c"},
        {"slug": "zamer", "title": "x", "field_name": "1", "consent_text": "c"},
        {
            "slug": "reg",
            "title": "x",
            "purpose": "registration",
            "field_name": "1",
            "consent_text": "c",
        },
    ):
        r = await office.post_form("/office/settings/forms", bad)
        assert r.status_code == 422, bad
    page = await office.get("/office/settings")
    assert f"/office/settings/forms/{fid}" in page.text
    assert (await office.get("/office/settings/forms/999999")).status_code == 404
