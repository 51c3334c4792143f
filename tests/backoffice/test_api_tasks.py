"""REST: /tasks."""

from __future__ import annotations

from tests.factories.activity import make_employee


async def test_task_lifecycle(api, uow):
    async with uow() as s:
        emp = await make_employee(s)
    r = await api.post(
        "/tasks",
        json={"subject": "Call back", "assignee_id": emp.id, "due_at": "2026-03-02T09:00"},
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["state"] == "open" and task["overdue"] is True  # 09:00 MSK < now (10:00)
    assert task["due_at"].startswith("2026-03-02T06:00:00")
    tid = task["id"]
    assert (await api.get(f"/tasks/{tid}")).json() == task
    r = await api.post(f"/tasks/{tid}/complete")
    assert r.status_code == 200 and r.json()["state"] == "done" and not r.json()["overdue"]
    assert (await api.post(f"/tasks/{tid}/complete")).status_code == 409
    assert (await api.post(f"/tasks/{tid}/reopen")).json()["state"] == "open"
    assert (await api.post(f"/tasks/{tid}/cancel")).json()["state"] == "cancelled"
    assert (await api.post(f"/tasks/{tid}/reopen")).status_code == 409
    r = await api.patch(f"/tasks/{tid}", json={"subject": "Call back twice"})
    assert r.status_code == 200 and r.json()["subject"] == "Call back twice"
    history = (await api.get(f"/tasks/{tid}/history")).json()
    assert history["total"] == 5
    assert [h["changes"].get("state") for h in history["items"][1:4]] == [
        ["open", "done"],
        ["done", "open"],
        ["open", "cancelled"],
    ]


async def test_list(api, uow):
    async with uow() as s:
        emp = await make_employee(s)
    for subject, due in (("later", "2026-03-05T10:00"), ("late", "2026-03-01T10:00")):
        r = await api.post(
            "/tasks", json={"subject": subject, "assignee_id": emp.id, "due_at": due}
        )
        assert r.status_code == 201
    page = (await api.get("/tasks", params={"assignee_id": emp.id})).json()
    assert [t["subject"] for t in page["items"]] == ["late", "later"] and page["total"] == 2
    page = (await api.get("/tasks", params={"overdue": "true"})).json()
    assert [t["subject"] for t in page["items"]] == ["late"]
    page = (await api.get("/tasks", params={"state": "done"})).json()
    assert page == {"items": [], "total": 0}
    assert (await api.get("/tasks", params={"state": "closed"})).status_code == 422


async def test_bad_input_and_not_found(api):
    assert (await api.post("/tasks", json={"subject": "  "})).status_code == 422
    assert (await api.post("/tasks", json={})).status_code == 422
    assert (await api.post("/tasks", json={"subject": "x", "colour": 1})).status_code == 422
    r = await api.post("/tasks", json={"subject": "x", "assignee_id": 999999})
    assert r.status_code == 422 and r.json()["field"] == "assignee_id"
    r = await api.post("/tasks", json={"subject": "x", "importance": "urgent"})
    assert r.status_code == 422
    for path in ("/tasks/999999", "/tasks/999999/history"):
        assert (await api.get(path)).status_code == 404
    assert (await api.post("/tasks/999999/complete")).status_code == 404
    assert (await api.patch("/tasks/999999", json={"subject": "y"})).status_code == 404
