"""A customer's own time zone over ``/api/v1/customers`` (SMS quiet hours use it)."""

from __future__ import annotations

import pytest


async def test_time_zone_is_set_on_create_changed_and_cleared_on_patch(api):
    resp = await api.post("/customers", json={"name": "Иван", "time_zone": "Asia/Vladivostok"})
    assert resp.status_code == 201, resp.text
    customer = resp.json()
    assert customer["time_zone"] == "Asia/Vladivostok"
    assert (await api.get(f"/customers/{customer['id']}")).json()["time_zone"] == "Asia/Vladivostok"
    # Spelled in any case, stored as tzdata spells it.
    resp = await api.patch(f"/customers/{customer['id']}", json={"time_zone": "europe/kaliningrad"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["time_zone"] == "Europe/Kaliningrad"
    # A patch of something else leaves it as it is.
    resp = await api.patch(f"/customers/{customer['id']}", json={"comment": "x"})
    assert resp.json()["time_zone"] == "Europe/Kaliningrad"
    resp = await api.patch(f"/customers/{customer['id']}", json={"time_zone": None})
    assert resp.status_code == 200 and resp.json()["time_zone"] is None
    plain = (await api.post("/customers", json={"name": "Пётр"})).json()
    assert plain["time_zone"] is None


@pytest.mark.parametrize(
    "zone",
    [
        "Mars/Olympus_Mons",
        "Moscow",
        "UTC+3",
        "+03:00",
        "../../../etc/passwd",
        "/usr/share/zoneinfo/Europe/Moscow",
        "Europe/Moscow\x00",
        "localtime",
        "Factory",
        "Europe/" + "x" * 57,
    ],
)
async def test_an_unknown_zone_is_422_with_a_clear_message(api, zone):
    resp = await api.post("/customers", json={"name": "Иван", "time_zone": zone})
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["field"] == "time_zone"
    assert "Unknown time zone" in body["detail"] and "Europe/Moscow" in body["detail"]
    created = (await api.post("/customers", json={"name": "Иван"})).json()
    resp = await api.patch(f"/customers/{created['id']}", json={"time_zone": zone})
    assert resp.status_code == 422 and resp.json()["field"] == "time_zone"
    assert (await api.get(f"/customers/{created['id']}")).json()["time_zone"] is None


@pytest.mark.parametrize("zone", ["x" * 65, 42, ["Europe/Moscow"]])
async def test_a_malformed_zone_is_422(api, zone):
    resp = await api.post("/customers", json={"name": "Иван", "time_zone": zone})
    assert resp.status_code == 422, resp.text
    assert any(k.startswith("time_zone") for k in resp.json()["errors"])
