"""The order kinds editor: administrators only; add, rename, recategorise, reorder."""

from __future__ import annotations

from crm_core.orders.kinds import get_order_kind, list_order_kinds
from tests.factories.activity import default_kind

XSS = "<script>alert(1)</script>"


async def test_only_admins(office_manager):
    assert (await office_manager.get("/office/order-kinds")).status_code == 403
    r = await office_manager.post_form("/office/order-kinds", {"code": "x", "name": "X"})
    assert r.status_code == 403


async def test_edit_kinds_and_states(office, uow):
    async with uow() as s:
        kind = await default_kind(s)
        states = (await get_order_kind(s, kind.id)).states
    base = f"/office/order-kinds/{kind.id}"
    assert (await office.get("/office/order-kinds")).status_code == 200
    # Add a state with a hostile name; it is shown as text.
    r = await office.post_form(f"{base}/states", {"name": f"Ждём {XSS}", "category": "open"})
    assert r.status_code == 303
    html = (await office.get("/office/order-kinds")).text
    assert XSS not in html and "Ждём &lt;script&gt;" in html
    # Rename and recategorise the second state; move the first one down.
    second = states[1]
    r = await office.post_form(
        f"{base}/states/{second.id}", {"name": "В работе!", "category": "open", "active": "1"}
    )
    assert r.status_code == 303
    r = await office.post_form(f"{base}/states/{states[0].id}", {"move": "down"})
    assert r.status_code == 303
    async with uow() as s:
        now_states = (await get_order_kind(s, kind.id)).states
    assert [x.id for x in now_states[:2]] == [second.id, states[0].id]
    assert now_states[0].name == "В работе!"
    assert now_states[-1].name.startswith("Ждём")
    # A new kind gets the standard states.
    r = await office.post_form("/office/order-kinds", {"code": "service", "name": "Сервис"})
    assert r.status_code == 303
    async with uow() as s:
        kinds = await list_order_kinds(s)
    assert [k.name for k in kinds] == [kind.name, "Сервис"] and len(kinds[1].states) == 6
    # Refusals: a duplicate code, a bad category, deactivating the default kind,
    # an unknown kind or state, no CSRF token.
    r = await office.post_form("/office/order-kinds", {"code": "service", "name": "Ещё"})
    assert r.status_code == 422
    r = await office.post_form(f"{base}/states", {"name": "X", "category": "weird"})
    assert r.status_code == 422
    r = await office.post_form(base, {"name": kind.name})  # active unchecked
    assert r.status_code == 422
    assert (
        await office.post_form("/office/order-kinds/999999/states", {"name": "X"})
    ).status_code == 404
    r = await office.post_form(f"{base}/states/999999", {"name": "X", "category": "open"})
    assert r.status_code == 404
    r = await office.post(f"{base}/states", data={"name": "X", "category": "open"})
    assert r.status_code == 403
