"""Orders, the funnel and the calendar in a real browser (headless Chromium via
Playwright): add order lines with the product search and see the totals; register a
partial payment and see the payment pictogram change; open the funnel and see its SVG;
drag an event to another hour of the week."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from crm_core.events.service import create_event, get_event
from crm_core.orders.service import get_order
from tests.backoffice.office.conftest import ADMIN_PASSWORD
from tests.browser import LiveFirma, chromium
from tests.factories.commerce import make_buyer, make_order, make_product


async def _sign_in(page, base: str, email: str) -> None:
    await page.goto(f"{base}/office/login?next=/office/orders")
    await page.fill("#email", email)
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/office/orders$"))


async def _total(page) -> str:
    return (await page.inner_text("#order-total")).replace("\u00a0", " ")


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        # Failed loads are reported (with their URL) by the response handler below.
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return errors


async def test_order_lines_payment_and_funnel_in_chromium(engine, uow, clock, people):
    async with uow() as s:
        buyer = await make_buyer(s, name="Покупатель Браузерный")
        await make_product(s, name="Диван угловой", sku="SOFA-1", price="40000.00")
        await make_product(s, name="Кресло", sku="ARM-1", price="12500.00")
        order = await make_order(s, customer=buyer, lines=[], due_at=clock.now().replace(day=20))
    url = engine.url.render_as_string(hide_password=False)
    async with chromium() as browser:
        with LiveFirma(url, clock) as firma:
            page = await browser.new_page()
            errors = _watch(page)
            await _sign_in(page, firma.url, people.admin_email)
            await page.goto(f"{firma.url}/office/orders/{order.id}")
            # Add a line through the search box: type, pick the suggestion, add.
            await page.fill("#product", "Дива")
            await page.locator(".suggest li", has_text="Диван угловой").click()
            assert await page.input_value("#product_id") != ""
            await page.fill("#quantity", "2")
            await page.click("#line-add button[type=submit]")
            await page.wait_for_url(re.compile(r".*saved=1.*"))
            assert "80 000,00" in await _total(page)
            # A second line typed as plain text (the server finds the product).
            await page.fill("#product", "ARM-1")
            await page.fill("#discount", "10")
            await page.click("#line-add button[type=submit]")
            await page.wait_for_load_state()
            assert "91 250,00" in await _total(page)
            # The lines table previews a changed quantity before saving.
            await page.locator("tr[data-line-id] input.qty").first.fill("1")
            assert "51 250,00" in await _total(page)
            await page.click("#lines-form .actions button[type=submit]")
            await page.wait_for_load_state()
            assert "51 250,00" in await _total(page)
            paid = page.locator("#paid-pict svg.pict")
            assert await paid.get_attribute("data-percent") == "0"
            # A partial payment turns the payment pictogram to 40 %.
            await page.fill("#pay-amount", "20500")
            await page.click("#payment-form button[type=submit]")
            await page.wait_for_load_state()
            paid = page.locator("#paid-pict svg.pict")
            assert await paid.get_attribute("data-percent") == "40"
            assert await paid.get_attribute("aria-label") == "Оплачено 40 %"
            assert await paid.locator("path.fill").count() == 1
            # ... and in the journal.
            await page.goto(f"{firma.url}/office/orders")
            row = page.locator(f'tr[data-order-id="{order.id}"]')
            assert await row.locator('svg[aria-label="Оплачено 40 %"]').count() == 1
            # The funnel is an SVG made on the server.
            await page.click("nav a[href='/office/analytics/funnel']")
            await page.wait_for_url(re.compile(r".*/office/analytics/funnel$"))
            chart = page.locator("#funnel svg.chart")
            await chart.wait_for()
            assert await chart.locator("g.stage").count() == 6
            assert await chart.locator("g.stage").first.get_attribute("data-value") == "1"
            assert not errors, errors
            await page.close()
    async with uow() as s:
        order = await get_order(s, order.id)
    assert order.total == Decimal("51250.00") and order.paid_amount == Decimal("20500.00")


async def test_drag_an_event_in_the_week_view(engine, uow, clock, people):
    async with uow() as s:
        event = await create_event(
            s,
            kind="meeting",
            subject="Встреча в браузере",
            starts_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),  # Tuesday 11:00 in Moscow
            ends_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
            employee_id=people.admin_id,
        )
    url = engine.url.render_as_string(hide_password=False)
    async with chromium() as browser:
        with LiveFirma(url, clock) as firma:
            page = await browser.new_page()
            errors = _watch(page)
            await _sign_in(page, firma.url, people.admin_email)
            await page.goto(f"{firma.url}/office/calendar?date=2026-03-03")
            item = page.locator(f'a.item[data-event-id="{event.id}"]')
            target = page.locator('.slot[data-start="2026-03-05T15:00"]')
            async with page.expect_response(
                lambda r: r.url.endswith(f"/office/events/{event.id}/move")
            ) as moved:
                await item.drag_to(target)
            assert (await moved.value).status == 200
            await page.reload()
            slot = page.locator('.slot[data-start="2026-03-05T15:00"]')
            await slot.locator(f'a.item[data-event-id="{event.id}"]').wait_for()
            assert not errors, errors
            await page.close()
    async with uow() as s:
        moved_event = await get_event(s, event.id)
    assert moved_event.starts_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert moved_event.ends_at == datetime(2026, 3, 5, 13, 0, tzinfo=UTC)
