"""REST: /firm, the requisites printed on invoices."""

from __future__ import annotations

import re
import zlib

import httpx

from crm_core.employees.tokens import create_api_token
from tests.factories.activity import make_employee
from tests.factories.commerce import make_buyer

FIELDS = {
    "name",
    "inn",
    "kpp",
    "address",
    "bank",
    "bik",
    "account",
    "corr_account",
    "phone",
    "email",
    "director",
    "accountant",
}
ROMASHKA = {
    "name": "ООО «Ромашка»",
    "inn": "7701234567",
    "kpp": "770101001",
    "address": "Москва, ул. Лесная, 1",
    "bank": "ПАО Сбербанк",
    "bik": "044525225",
    "account": "40702810900000000001",
    "corr_account": "30101810400000000225",
    "phone": "+7 495 000-00-00",
    "email": "office@romashka.example",
    "director": "Иванов И. И.",
}


def _unescape(raw: bytes) -> bytes:
    """A PDF literal string's bytes (backslash escapes resolved)."""
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(m: re.Match) -> bytes:
        s = m.group(1)
        return bytes([int(s, 8) & 0xFF]) if s[:1].isdigit() else simple.get(s, s)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, raw, flags=re.S)


def pdf_text(pdf: bytes) -> list[str]:
    """The page text read through each font's ToUnicode map (fpdf2 writes two-byte
    glyph codes; codes differ per font, so every map is tried on every string)."""
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            streams.append(raw)
    maps = [
        {int(c, 16): chr(int(u, 16)) for c, u in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]{4})>", s)}
        for s in streams
        if b"beginbfchar" in s
    ]
    strings = [
        _unescape(m)
        for s in streams
        if b"Tj" in s or b"TJ" in s
        for m in re.findall(rb"\(((?:\\.|[^\\()])*)\)", s, re.S)
    ]
    return [
        "".join(cmap.get(int.from_bytes(s[i : i + 2], "big"), "?") for i in range(0, len(s), 2))
        for cmap in maps
        for s in strings
    ]


async def test_read_and_change(api):
    r = await api.get("/firm")
    assert r.status_code == 200
    assert r.json() == dict.fromkeys(FIELDS, "")
    r = await api.put("/firm", json=ROMASHKA)
    assert r.status_code == 200, r.text
    assert r.json() == {**dict.fromkeys(FIELDS, ""), **ROMASHKA}
    # Fields left out keep their value; null and "" clear one.
    r = await api.put("/firm", json={"accountant": " Петрова А. А. ", "phone": None, "kpp": ""})
    firm = (await api.get("/firm")).json()
    assert r.json() == firm
    assert (firm["accountant"], firm["phone"], firm["kpp"]) == ("Петрова А. А.", "", "")
    assert firm["inn"] == "7701234567" and firm["name"] == "ООО «Ромашка»"


async def test_bad_input_names_the_field(api):
    for body, field in (
        ({"inn": "12345"}, "inn"),
        ({"kpp": "77010100X"}, "kpp"),
        ({"bik": "0445252250"}, "bik"),
        ({"account": "4070281090000000000"}, "account"),
        ({"corr_account": "abc"}, "corr_account"),
        ({"email": "not an email"}, "email"),
    ):
        r = await api.put("/firm", json=body)
        assert r.status_code == 422, body
        assert r.json()["field"] == field and r.json()["detail"], r.json()
    for body, field in (({"ogrn": "1027700132195"}, "ogrn"), ({"name": "x" * 501}, "name")):
        r = await api.put("/firm", json=body)
        assert r.status_code == 422, body
        assert list(r.json()["errors"]) == [field]
    assert (await api.get("/firm")).json() == dict.fromkeys(FIELDS, "")  # nothing half-written


async def test_only_an_admin_may_change(app, uow, api):
    async with uow() as s:
        manager = await make_employee(s)
        admin = await make_employee(s, role="admin")
        manager_token = (await create_api_token(s, name="m", employee_id=manager.id)).token
        admin_token = (await create_api_token(s, name="a", employee_id=admin.id)).token
    transport = httpx.ASGITransport(app=app)
    base = "http://testserver/api/v1"
    async with httpx.AsyncClient(
        transport=transport, base_url=base, headers={"Authorization": f"Bearer {manager_token}"}
    ) as client:
        assert (await client.get("/firm")).status_code == 200
        r = await client.put("/firm", json={"name": "ООО «Захват»"})
        assert r.status_code == 403 and "administrator" in r.json()["detail"]
    async with httpx.AsyncClient(
        transport=transport, base_url=base, headers={"Authorization": f"Bearer {admin_token}"}
    ) as client:
        assert (await client.put("/firm", json={"name": "ООО «Админ»"})).status_code == 200
    assert (await api.get("/firm")).json()["name"] == "ООО «Админ»"
    async with httpx.AsyncClient(transport=transport, base_url=base) as anonymous:
        assert (await anonymous.put("/firm", json={"name": "x"})).status_code == 401


async def test_the_invoice_shows_the_new_name(api, uow):
    async with uow() as s:
        customer_id = (await make_buyer(s, legal_name="ООО «Покупатель»")).id
    await api.put("/firm", json=ROMASHKA)
    order = (
        await api.post(
            "/orders",
            json={
                "customer_id": customer_id,
                "lines": [{"name": "Работа", "quantity": 1, "price": 5}],
            },
        )
    ).json()
    invoice = (await api.post(f"/orders/{order['id']}/invoices", json={})).json()
    before = pdf_text((await api.get(f"/invoices/{invoice['id']}.pdf")).content)
    assert any("ООО «Ромашка»" in line for line in before)
    r = await api.put("/firm", json={"name": "ООО «Василёк (Москва)»", "inn": "770987654321"})
    assert r.status_code == 200
    after = pdf_text((await api.get(f"/invoices/{invoice['id']}.pdf")).content)
    assert any("ООО «Василёк (Москва)»" in line for line in after)
    assert any("770987654321" in line for line in after)
    assert not any("Ромашка" in line for line in after)
