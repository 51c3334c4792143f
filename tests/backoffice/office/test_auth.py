"""Signing in and out of the office, the session cookie, CSRF, lock-out, headers."""

from __future__ import annotations

from datetime import timedelta

import httpx

from crm_core.employees.service import update_employee
from tests.backoffice.office.conftest import (
    ADMIN_PASSWORD,
    CSRF_FIELD,
    MANAGER_PASSWORD,
    OfficeClient,
    sign_in,
)


def _client(app) -> OfficeClient:
    return OfficeClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_pages_need_a_session_and_remember_where_you_were_going(app, people):
    async with _client(app) as c:
        r = await c.get("/office/profile?x=1")
        assert r.status_code == 303
        assert r.headers["location"] == "/office/login?next=/office/profile%3Fx%3D1"
        r = await c.get("/office/profile", headers={"Accept": "application/json"})
        assert r.status_code == 401
        r = await c.post("/office/profile", data={"language": "en"})
        assert r.status_code == 303 and r.headers["location"] == "/office/login"


async def test_sign_in_sets_a_safe_cookie_and_goes_next(app, people):
    async with _client(app) as c:
        page = await c.get("/office/login?next=/office/profile")
        assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
        token = CSRF_FIELD.search(page.text).group(1)
        r = await c.post(
            "/office/login",
            data={
                "email": " ANNA@firma-test.ru ",
                "password": ADMIN_PASSWORD,
                "csrf_token": token,
                "next": "/office/profile",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/office/profile"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("firma_office="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/office" in cookie
        assert "Secure" not in cookie  # served over plain http here
        page = await c.get("/office/profile")
        assert page.status_code == 200 and "Анна Админова" in page.text


async def test_next_never_leaves_the_office(app, people):
    for target in (
        "https://evil.example/",
        "//evil.example/office/",
        "/api/v1/leads",
        "/office\\x",
    ):
        async with _client(app) as c:
            page = await c.get("/office/login")
            token = CSRF_FIELD.search(page.text).group(1)
            r = await c.post(
                "/office/login",
                data={
                    "email": people.admin_email,
                    "password": ADMIN_PASSWORD,
                    "csrf_token": token,
                    "next": target,
                },
            )
            assert r.headers["location"] == "/office/leads/board", target


async def test_wrong_password_says_so_without_telling_which(app, people):
    async with _client(app) as c:
        r = await sign_in(c, people.admin_email, "nope")
        assert r.status_code == 401 and "Неверный email или пароль" in r.text
        assert "firma_office=" not in r.headers.get("set-cookie", "")
        r = await sign_in(c, "nobody@firma-test.ru", "nope")
        assert r.status_code == 401 and "Неверный email или пароль" in r.text


async def test_login_form_without_its_token_is_refused(app, people):
    async with _client(app) as c:
        r = await c.post(
            "/office/login", data={"email": people.admin_email, "password": ADMIN_PASSWORD}
        )
        assert r.status_code == 403
        assert "firma_office=" not in r.headers.get("set-cookie", "")


async def test_lock_out_after_repeated_failures_then_it_lifts(app, people, clock):
    async with _client(app) as c:
        for _ in range(5):
            assert (await sign_in(c, people.manager_email, "guess")).status_code == 401
        r = await sign_in(c, people.manager_email, MANAGER_PASSWORD)
        assert r.status_code == 429 and "Слишком много неудачных попыток" in r.text
        # Another employee from the same address is not locked by it.
        assert (await sign_in(c, people.admin_email, ADMIN_PASSWORD)).status_code == 303
    clock.advance(timedelta(minutes=16))
    async with _client(app) as c:
        assert (await sign_in(c, people.manager_email, MANAGER_PASSWORD)).status_code == 303


async def test_state_changes_need_the_csrf_token(office):
    r = await office.post("/office/profile", data={"language": "en"})
    assert r.status_code == 403
    r = await office.post("/office/profile", data={"language": "en", "csrf_token": "forged"})
    assert r.status_code == 403
    r = await office.post_form(
        "/office/profile", {"language": "en", "timezone": "Asia/Omsk", "agenda_hour": "8"}
    )
    assert r.status_code == 303
    page = await office.get("/office/profile")
    assert "My settings" in page.text  # English now
    assert '<option value="Asia/Omsk" selected>' in page.text


async def test_sign_out_ends_the_session_for_good(office):
    cookie = office.cookies.get("firma_office")
    r = await office.post_form("/office/logout")
    assert r.status_code == 303 and r.headers["location"] == "/office/login"
    office.cookies.set("firma_office", cookie, domain="testserver.local", path="/office")
    r = await office.get("/office/profile", headers={"Cookie": f"firma_office={cookie}"})
    assert r.status_code == 303


async def test_password_change_signs_out_other_browsers(app, people, office_manager, uow):
    async with _client(app) as other:
        assert (await sign_in(other, people.manager_email, MANAGER_PASSWORD)).status_code == 303
        r = await office_manager.post_form(
            "/office/profile/password",
            {"current_password": "wrong", "password": "a-new-password-1"},
        )
        assert r.status_code == 422 and "Текущий пароль неверен" in r.text
        r = await office_manager.post_form(
            "/office/profile/password",
            {"current_password": MANAGER_PASSWORD, "password": "a-new-password-1"},
        )
        assert r.status_code == 303
        assert (await office_manager.get("/office/profile")).status_code == 200
        assert (await other.get("/office/profile")).status_code == 303
        assert (await sign_in(other, people.manager_email, "a-new-password-1")).status_code == 303


async def test_deactivated_employee_is_out_at_once(office_manager, people, uow):
    async with uow() as s:
        await update_employee(s, people.manager_id, active=False)
    assert (await office_manager.get("/office/profile")).status_code == 303


async def test_headers_forbid_inline_script_and_framing(office):
    r = await office.get("/office/profile")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


async def test_names_are_escaped(office, uow, people):
    async with uow() as s:
        await update_employee(s, people.admin_id, name="<script>alert(1)</script>")
    page = await office.get("/office/profile")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
