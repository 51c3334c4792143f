"""Leads from spreadsheets: de-duplicated through the core's intake (within the file,
against open leads, against customers), quiet (one ``leads.imported`` per batch instead
of a manager notification per row), and an export that imports back unchanged."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from channels.files.importer import run_import
from crm_core.leads.service import intake_lead
from crm_core.models import ContactPoint, Customer, Lead, OutboxEvent
from tests.factories.people import make_customer, make_employee

HEADER = "ФИО;Телефон;E-mail;Компания;Источник;Стадия;Ответственный;Комментарий;utm_source\r\n"


async def _leads(sessions) -> list[Lead]:
    async with sessions() as s:
        return list(await s.scalars(select(Lead).order_by(Lead.id)))


async def _topics(sessions) -> list[str]:
    async with sessions() as s:
        return list(await s.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)))


async def _seed(uow) -> dict[str, int]:
    async with uow() as s:
        manager = await make_employee(s, email="olga@firma.ru")
        customer = await make_customer(s, phones=["+79005550001"])
        open_lead = await intake_lead(s, name="Уже есть", phones=["+79005550002"], source="api")
        return {"manager": manager.id, "customer": customer.id, "lead": open_lead.lead.id}


ROWS = [
    "Анна;8 (916) 100-00-01;anna@example.ru;ООО Ромашка;выставка;in_work;OLGA@firma.ru;"
    "звонить утром;expo",
    "Анна П.;+7 916 100 00 01;;;;;;;",  # the same person as row 2
    "Клиент;+7 900 555-00-01;;;;;;;",  # a customer holds the phone
    "Повтор;89005550002;new@example.ru;;;;;дополнение;",  # an open lead holds the phone
    "Без контактов;;;;;;;;",
    "Плохой;12;;;;;;;",
    "Чужой;+79161000005;;;;;nobody@firma.ru;;",
    "Стадия;+79161000006;;;;closed_forever;;;",
    '<script>alert(1)</script>;+79161000007;;;;;;"\'; DROP TABLE leads; --";',
]


def _file() -> bytes:
    return (HEADER + "\r\n".join(ROWS) + "\r\n").encode("cp1251", errors="strict")


async def test_dry_run_then_import_then_again(api, sessions, uow):
    ids = await _seed(uow)
    before = await _topics(sessions)
    preview = await api.post(
        "/imports/leads", params={"dry_run": "true"}, files={"file": ("leads.csv", _file())}
    )
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["counts"] == {"created": 2, "updated": 1, "unchanged": 2, "error": 4}
    by_row = {r["row"]: r for r in report["results"]}
    assert by_row[3]["note"] == "matches row 2"
    assert by_row[4]["note"] == f"matches customer {ids['customer']}"
    assert by_row[5]["note"] == f"matches lead {ids['lead']}"
    assert [by_row[n]["status"] for n in (3, 4, 5)] == ["unchanged", "unchanged", "updated"]
    assert set(by_row[6]["errors"]) == {"phone"} and set(by_row[7]["errors"]) == {"phone"}
    assert set(by_row[8]["errors"]) == {"responsible"} and set(by_row[9]["errors"]) == {"state"}
    assert len(await _leads(sessions)) == 1  # a preview writes nothing

    done = (await api.post("/imports/leads", files={"file": ("leads.csv", _file())})).json()
    assert done["counts"] == report["counts"]
    assert [r["status"] for r in done["results"]] == [r["status"] for r in report["results"]]
    leads = {lead.name: lead for lead in await _leads(sessions)}
    assert set(leads) == {"Уже есть", "Анна", "<script>alert(1)</script>"}
    anna = leads["Анна"]
    assert (anna.source, anna.source_detail, anna.utm_source) == ("import", "выставка", "expo")
    assert anna.responsible_id == ids["manager"] and anna.company == "ООО Ромашка"
    assert leads["<script>alert(1)</script>"].comment == "'; DROP TABLE leads; --"
    merged = leads["Уже есть"]
    assert merged.comment == "дополнение"
    async with sessions() as s:
        contacts = set(
            await s.scalars(select(ContactPoint.value).where(ContactPoint.lead_id == merged.id))
        )
        assert contacts == {"+79005550002", "new@example.ru"}
        assert await s.scalar(select(func.count()).select_from(Customer)) == 1
    # Quiet: the managers hear of the batch once, not of every row.
    new_topics = (await _topics(sessions))[len(before) :]
    assert new_topics == ["leads.imported"]

    again = (await api.post("/imports/leads", files={"file": ("leads.csv", _file())})).json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 5, "error": 4}
    assert len(await _leads(sessions)) == 3
    assert (await _leads(sessions))[0].comment == "дополнение"  # not appended twice
    assert (await _topics(sessions))[len(before) :] == ["leads.imported"]


async def test_one_announcement_per_batch(sessions, uow):
    data = ("name;phone\r\n" + "".join(f"Лид {i};+7916200{i:04d}\r\n" for i in range(7))).encode()
    report = await run_import(
        sessions, kind="leads", data=data, filename="l.csv", dry_run=False, batch=3
    )
    assert report.counts["created"] == 7
    async with sessions() as s:
        events = list(
            await s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.topic == "leads.imported")
                .order_by(OutboxEvent.id)
            )
        )
        assert (
            await s.scalar(
                select(func.count()).where(OutboxEvent.topic.in_(["lead.created", "lead.merged"]))
            )
            == 0
        )
    assert [e.payload["created"] for e in events] == [3, 3, 1]
    assert sum(len(e.payload["lead_ids"]) for e in events) == 7


async def test_export_imports_back_unchanged(api, sessions, uow):
    await _seed(uow)
    await api.post("/imports/leads", files={"file": ("leads.csv", _file())})
    exported = await api.get("/exports/leads", params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    text = exported.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    anna = next(r for r in rows if r["name"] == "Анна")
    assert anna["state"] == "in_work" and anna["responsible"] == "olga@firma.ru"
    # A leading "+" is written with an apostrophe (no formula in a spreadsheet).
    assert anna["phone"] == "'+79161000001" and anna["email"] == "anna@example.ru"
    assert rows[-1]["name"] == "<script>alert(1)</script>"
    back = await api.post("/imports/leads", files={"file": ("leads.csv", exported.content)})
    assert back.status_code == 200, back.text
    assert back.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "error": 0}


async def test_a_file_without_contact_columns_is_refused(api):
    r = await api.post("/imports/leads", files={"file": ("l.csv", b"name;comment\r\nx;y\r\n")})
    assert r.status_code == 422, r.text
