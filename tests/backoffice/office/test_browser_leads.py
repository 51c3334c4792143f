"""The leads pages in a real browser (headless Chromium via Playwright): sign in through
the login page, drag a card from «Не обработан» to «В работе» and see it stay there
after a reload, convert a lead with an order and land on the order's page."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm_core.models import Lead, LeadResult, LeadState, Order
from tests.backoffice.office.conftest import ADMIN_PASSWORD
from tests.browser import LiveFirma, chromium
from tests.factories.people import make_lead, unique_phone


async def _sign_in(page, base: str, email: str) -> None:
    await page.goto(f"{base}/office/login")
    await page.fill("#email", email)
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/office/leads/board")


async def test_drag_a_lead_and_convert_another_in_chromium(engine, uow, clock, people):
    async with uow() as s:
        states = {st.code: st for st in await s.scalars(select(LeadState))}
        dragged = await make_lead(s, name="Перетаскиваемый", phones=[unique_phone()])
        converted = await make_lead(s, name="Будущий клиент", phones=[unique_phone()])
    url = engine.url.render_as_string(hide_password=False)
    async with chromium() as browser:
        with LiveFirma(url, clock) as firma:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "response",
                lambda r: (
                    errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            await _sign_in(page, firma.url, people.admin_email)

            new_col = page.locator(f'.kanban-col[data-state-id="{states["new"].id}"]')
            work_col = page.locator(f'.kanban-col[data-state-id="{states["in_work"].id}"]')
            card = new_col.locator(f'.kanban-card[data-lead-id="{dragged.id}"]')
            await card.wait_for()
            assert await work_col.locator(".kanban-card").count() == 0
            async with page.expect_response(
                lambda r: (
                    r.url.endswith(f"/office/leads/{dragged.id}/state")
                    and r.request.method == "POST"
                )
            ) as moved:
                await card.drag_to(work_col)
            assert (await moved.value).status == 200
            await page.reload()
            work_col = page.locator(f'.kanban-col[data-state-id="{states["in_work"].id}"]')
            await work_col.locator(f'.kanban-card[data-lead-id="{dragged.id}"]').wait_for()
            assert await new_col.locator(f'[data-lead-id="{dragged.id}"]').count() == 0
            assert await work_col.locator("[data-count]").inner_text() == "1"

            assert not errors, errors  # (the order page may belong to a later change)
            await page.goto(f"{firma.url}/office/leads/{converted.id}")
            await page.click('button[name="with_order"][value="1"]')
            await page.wait_for_url(re.compile(r".*/office/orders/\d+$"))
            order_id = int(page.url.rsplit("/", 1)[1])
            await page.close()
    async with uow() as s:
        lead = await s.get(Lead, dragged.id)
        assert lead.state_id == states["in_work"].id
        lead = await s.get(Lead, converted.id)
        assert lead.result == LeadResult.CONVERTED and lead.order_id == order_id
        order = await s.get(Order, order_id)
        assert order.customer_id == lead.customer_id
