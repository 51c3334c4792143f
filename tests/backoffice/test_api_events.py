"""REST: /events and /calendar."""

from __future__ import annotations

from tests.factories.activity import make_customer, make_employee


async def _employee(uow):
    async with uow() as s:
        return await make_employee(s)


async def test_create_get_patch_history(api, uow):
    emp = await _employee(uow)
    r = await api.post(
        "/events",
        json={
            "kind": "meeting",
            "subject": "Demo",
            "starts_at": "2026-03-03T10:00",  # naive: Moscow time
            "ends_at": "2026-03-03T08:00:00Z",  # 11:00 Moscow
            "employee_id": emp.id,
            "importance": "high",
            "direction": "outgoing",
            "remind_at": "2026-03-03T06:45:00+00:00",
        },
    )
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["starts_at"].startswith("2026-03-03T07:00:00")
    assert event["starts_at"].endswith(("Z", "+00:00"))
    assert event["state"] == "planned" and event["employee_id"] == emp.id
    for key in ("id", "kind", "body", "ends_at", "customer_id", "lead_id", "order_id"):
        assert key in event
    got = (await api.get(f"/events/{event['id']}")).json()
    assert got == event
    r = await api.patch(f"/events/{event['id']}", json={"state": "completed", "body": "ok"})
    assert r.status_code == 200 and r.json()["state"] == "completed"
    r = await api.patch(f"/events/{event['id']}", json={"state": "cancelled"})
    assert r.status_code == 409
    history = (await api.get(f"/events/{event['id']}/history")).json()
    assert history["total"] == 2 and history["items"][1]["changes"]["body"] == [None, "ok"]


async def test_bad_input(api):
    r = await api.post(
        "/events",
        json={"kind": "call", "starts_at": "2026-03-03T10:00", "ends_at": "2026-03-03T09:00"},
    )
    assert r.status_code == 422 and r.json()["field"] == "ends_at"
    assert (await api.post("/events", json={"kind": "fax"})).status_code == 422
    assert (await api.post("/events", json={"kind": "call", "color": "red"})).status_code == 422
    r = await api.post("/events", json={"kind": "call", "customer_id": 999999})
    assert r.status_code == 422 and r.json()["field"] == "customer_id"
    assert (await api.post("/events", json={"kind": "call", "state": "done"})).status_code == 422


async def test_not_found(api):
    assert (await api.get("/events/999999")).status_code == 404
    assert (await api.patch("/events/999999", json={"body": "x"})).status_code == 404
    assert (await api.get("/events/999999/history")).status_code == 404
    assert (await api.get("/events/0")).status_code == 422


async def test_list_and_calendar(api, uow):
    emp = await _employee(uow)
    async with uow() as s:
        customer = await make_customer(s)
    common = {"kind": "call", "employee_id": emp.id}
    a = await api.post(
        "/events",
        json={**common, "starts_at": "2026-03-03T09:00", "ends_at": "2026-03-03T10:00"},
    )
    b = await api.post(
        "/events",
        json={**common, "starts_at": "2026-03-04T09:00", "customer_id": customer.id},
    )
    assert a.status_code == b.status_code == 201
    r = await api.post(
        "/tasks",
        json={"subject": "Prepare", "assignee_id": emp.id, "due_at": "2026-03-03T18:00"},
    )
    assert r.status_code == 201
    page = (await api.get("/events", params={"employee_id": emp.id})).json()
    assert page["total"] == 2
    page = (await api.get("/events", params={"customer_id": customer.id})).json()
    assert [e["id"] for e in page["items"]] == [b.json()["id"]]
    # the day of 3 March in Moscow, given as bare dates
    page = (await api.get("/events", params={"from": "2026-03-03", "to": "2026-03-04"})).json()
    assert [e["id"] for e in page["items"]] == [a.json()["id"]]
    page = (await api.get("/events", params={"from": "2026-03-03T10:00"})).json()
    assert [e["id"] for e in page["items"]] == [b.json()["id"]]  # a ends at 10:00
    assert (await api.get("/events", params={"kind": "fax"})).status_code == 422

    r = await api.get(
        "/calendar", params={"employee_id": emp.id, "start": "2026-03-03", "end": "2026-03-04"}
    )
    assert r.status_code == 200, r.text
    cal = r.json()
    assert [e["id"] for e in cal["events"]] == [a.json()["id"]]
    assert [t["subject"] for t in cal["tasks"]] == ["Prepare"]
    r = await api.get(
        "/calendar", params={"employee_id": emp.id, "start": "2026-03-04", "end": "2026-03-03"}
    )
    assert r.status_code == 422
    r = await api.get("/calendar", params={"start": "2026-03-03", "end": "2026-03-04"})
    assert r.status_code == 422
    assert (await api.get("/calendar", params={"employee_id": emp.id})).status_code == 422
