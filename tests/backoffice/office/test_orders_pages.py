"""The orders journal and the order card: pictograms, filters, roles, CSRF, escaping,
hostile input; lines, payments, shipments, invoices through plain forms."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice.office.pictograms import pictogram, sector_path
from crm_core.models import Order, Payment
from crm_core.orders.service import change_order_state, get_order, register_payment
from tests.factories.commerce import make_buyer, make_order, make_product, state_of

XSS = "<script>alert(1)</script>"


def test_sector_path_empty_full_and_partial():
    assert sector_path(0) == ""
    full = sector_path(100)
    assert full.count(" A ") == 2  # two half arcs make the whole disc
    assert sector_path(150) == full
    quarter = sector_path(25)
    # a quarter ends at 3 o'clock: x = 9 + 7, y = 9
    assert quarter.endswith("16.00 9.00 Z") and " 0 0 1 " in quarter
    assert " 0 1 1 " in sector_path(75)  # past half: the large arc flag


def test_pictogram_escapes_label_and_picks_class():
    svg = str(pictogram(40, "overdue", 'Оплачено 40 % "<b>'))
    assert 'class="pict overdue"' in svg
    assert 'aria-label="Оплачено 40 % &#34;&lt;b&gt;"' in svg
    assert "<b>" not in svg
    assert 'class="fill"' in svg
    assert 'class="fill"' not in str(pictogram(0, "on_time", "x"))
    assert 'class="pict on_time"' in str(pictogram(0, "bogus", "x"))


async def _orders(uow, people, clock):
    async with uow() as s:
        buyer = await make_buyer(s, name=f"Покупатель {XSS}")
        soon = clock.now() + timedelta(days=3)
        late = clock.now() - timedelta(days=2)
        on_time = await make_order(
            s, customer=buyer, total="1000.00", due_at=soon, responsible_id=people.manager_id
        )
        overdue = await make_order(s, customer=buyer, total="500.00", due_at=late)
        closed = await make_order(s, customer=buyer, total="300.00")
        cancelled = await make_order(s, customer=buyer, total="200.00", comment=XSS)
        await register_payment(s, on_time.id, amount=Decimal("400.00"), method="bank")
        await change_order_state(s, closed.id, state_code="completed")
        await change_order_state(s, cancelled.id, state_code="cancelled")
    return on_time, overdue, closed, cancelled


def _row(html: str, order_id: int) -> str:
    match = re.search(rf'<tr class="(\w+)" data-order-id="{order_id}">(.*?)</tr>', html, re.S)
    assert match, f"order {order_id} not in the journal"
    return match.group(1) + " " + match.group(2)


async def test_journal_shows_pictograms_by_indicator(office, uow, people, clock):
    on_time, overdue, closed, cancelled = await _orders(uow, people, clock)
    r = await office.get("/office/orders")
    assert r.status_code == 200
    html = r.text
    row = _row(html, on_time.id)
    assert row.startswith("on_time")
    assert 'class="pict on_time"' in row and 'aria-label="Оплачено 40 %"' in row
    assert 'aria-label="Отгружено 0 %"' in row
    assert _row(html, overdue.id).startswith("overdue")
    assert 'class="pict overdue"' in _row(html, overdue.id)
    assert 'class="pict closed"' in _row(html, closed.id)
    assert _row(html, cancelled.id).startswith("cancelled")  # struck through by CSS
    assert XSS not in html and "&lt;script&gt;" in html


async def test_journal_filters(office, uow, people, clock):
    on_time, overdue, closed, _cancelled = await _orders(uow, people, clock)
    r = await office.get("/office/orders?indicator=overdue")
    assert f'data-order-id="{overdue.id}"' in r.text
    assert f'data-order-id="{on_time.id}"' not in r.text
    r = await office.get(f"/office/orders?responsible={people.manager_id}")
    assert f'data-order-id="{on_time.id}"' in r.text
    assert f'data-order-id="{overdue.id}"' not in r.text
    state = (await office.get("/office/orders")).text
    assert state.count("data-order-id=") == 4
    async with uow() as s:
        completed = await state_of(s, "completed")
    r = await office.get(f"/office/orders?state={completed.id}")
    assert r.text.count("data-order-id=") == 1 and f'data-order-id="{closed.id}"' in r.text
    r = await office.get(f"/office/orders?q={on_time.number}")
    assert r.text.count("data-order-id=") == 1
    day = clock.now().date()
    r = await office.get(f"/office/orders?from={day + timedelta(days=1)}")
    assert r.text.count("data-order-id=") == 0
    r = await office.get(f"/office/orders?from={day}&to={day}&sort=date")
    assert r.text.count("data-order-id=") == 4
    # Hostile filters are ignored, never a 500.
    for query in (
        "indicator=<script>",
        "state=abc",
        "kind=-1",
        "from=2026-13-45",
        "page=-5",
        "page=99999999999",
        "responsible=%00",
        "sort=drop table",
        "q=a%00b",
        f"q={'x' * 5000}",
    ):
        r = await office.get(f"/office/orders?{query}")
        assert r.status_code == 200, query


async def test_manager_sees_own_orders_by_default(office_manager, uow, people, clock):
    on_time, overdue, *_ = await _orders(uow, people, clock)
    html = (await office_manager.get("/office/orders")).text
    assert f'data-order-id="{on_time.id}"' in html
    assert f'data-order-id="{overdue.id}"' not in html
    html = (await office_manager.get("/office/orders?responsible=all")).text
    assert f'data-order-id="{overdue.id}"' in html


async def test_signed_out_is_sent_to_login(client):
    r = await client.get("/office/orders")
    assert r.status_code == 303 and r.headers["location"].startswith("/office/login")
    r = await client.get("/office/orders/1")
    assert r.status_code == 303


async def test_new_order_by_customer_search(office, uow):
    async with uow() as s:
        buyer = await make_buyer(s, name="Ромашка ООО")
        await make_buyer(s, name="Ромашка ИП")
    r = await office.get("/office/orders/new")
    assert r.status_code == 200
    r = await office.post_form("/office/orders/new", {"customer": "Ромашка"})
    assert r.status_code == 422
    assert "Ромашка ООО" in r.text and "Ромашка ИП" in r.text  # pick one of them
    r = await office.post_form("/office/orders/new", {"customer": "Нет такого"})
    assert r.status_code == 422
    r = await office.post_form(
        "/office/orders/new",
        {"customer_id": str(buyer.id), "due_at": "2026-03-10T12:00", "comment": XSS},
    )
    assert r.status_code == 303
    order_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = await office.get(f"/office/orders/{order_id}")
    assert page.status_code == 200 and "Ромашка ООО" in page.text
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    async with uow() as s:
        order = await get_order(s, order_id)
        assert order.due_at.isoformat().startswith("2026-03-10T09:00")  # 12:00 Moscow
    # Hostile: unknown customer id, bad date, no CSRF token.
    r = await office.post_form("/office/orders/new", {"customer_id": "999999"})
    assert r.status_code == 422
    r = await office.post_form(
        "/office/orders/new", {"customer_id": str(buyer.id), "due_at": "not a date"}
    )
    assert r.status_code == 422
    r = await office.post("/office/orders/new", data={"customer_id": str(buyer.id)})
    assert r.status_code == 403


async def test_lines_totals_payment_shipment_invoice(office, uow):
    async with uow() as s:
        buyer = await make_buyer(s)
        chair = await make_product(s, name="Стул <b>венский</b>", sku="CH-1", price="1500.00")
        await make_product(s, name="Стол", sku="TB-1", price="7000.00")
        order = await make_order(s, customer=buyer, lines=[])
    url = f"/office/orders/{order.id}"
    r = await office.post_form(f"{url}/lines", {"product": "CH-1", "quantity": "2"})
    assert r.status_code == 303
    r = await office.post_form(
        f"{url}/lines", {"product": "Стол", "quantity": "1", "discount": "10"}
    )
    assert r.status_code == 303
    async with uow() as s:
        order = await get_order(s, order.id)
    assert order.total == Decimal("9300.00")  # 2 × 1500 + 7000 − 10 %
    page = (await office.get(url)).text
    assert "Стул &lt;b&gt;венский&lt;/b&gt;" in page
    assert re.search(r'id="order-total">9\s300,00', page)
    # Hostile lines: negative and absurd quantities, unknown product, a bad discount.
    for data in (
        {"product_id": str(chair.id), "quantity": "-1"},
        {"product_id": str(chair.id), "quantity": "1e400"},
        {"product_id": str(chair.id), "quantity": "abc"},
        {"product_id": "999999", "quantity": "1"},
        {"product_id": str(chair.id), "quantity": "1", "discount": "150"},
        {"product": "", "quantity": "1"},
    ):
        r = await office.post_form(f"{url}/lines", data)
        assert r.status_code == 422, data
    # Edit the lines in one go: 3 chairs now.
    line_ids = [line.id for line in order.lines]
    form = {}
    for line in order.lines:
        form |= {
            f"qty_{line.id}": "3" if line.id == line_ids[0] else "1",
            f"price_{line.id}": str(line.price),
            f"discount_{line.id}": str(line.discount_percent),
        }
    r = await office.post_form(f"{url}/lines/save", form)
    assert r.status_code == 303
    async with uow() as s:
        order = await get_order(s, order.id)
    assert order.total == Decimal("10800.00")
    line_ids = [line.id for line in order.lines]  # the lines were replaced
    # A partial payment; the same form twice (double click) records it once.
    page = (await office.get(url)).text
    key = re.search(r'name="key" value="(\w+)"', page).group(1)
    for _ in range(2):
        r = await office.post_form(
            f"{url}/payments", {"amount": "5 400,00", "method": "cash", "key": key}
        )
        assert r.status_code == 303
    page = (await office.get(url)).text
    assert 'aria-label="Оплачено 50 %"' in page
    async with uow() as s:
        payments = list(await s.scalars(select(Payment).where(Payment.order_id == order.id)))
    assert [p.amount for p in payments] == [Decimal("5400.00")]
    r = await office.post_form(f"{url}/payments", {"amount": "999999", "method": "cash"})
    assert r.status_code == 422 and "exceeds" in r.text
    r = await office.post_form(f"{url}/payments", {"amount": "10", "method": "gold"})
    assert r.status_code == 422
    # Ship one chair, then everything left.
    r = await office.post_form(f"{url}/shipments", {f"ship_{line_ids[0]}": "1"})
    assert r.status_code == 303
    r = await office.post_form(f"{url}/shipments", {f"ship_{line_ids[0]}": "99"})
    assert r.status_code == 422 and "only 2 left to ship" in r.text
    page = (await office.get(url)).text
    assert 'aria-label="Отгружено 13 %"' in page  # 1500 of 10800
    r = await office.post_form(f"{url}/shipments", {})
    assert r.status_code == 303, re.findall(r'role="alert">(.*?)</div>', r.text, re.S)
    page = (await office.get(url)).text
    assert 'aria-label="Отгружено 100 %"' in page
    # Lines of a shipped order can no longer be replaced.
    r = await office.post_form(f"{url}/lines/{line_ids[1]}/delete", {})
    assert r.status_code == 409
    # The invoice for the rest, and its PDF.
    r = await office.post_form(f"{url}/invoices", {})
    assert r.status_code == 303
    invoice_id = int(re.search(r"invoice=(\d+)", r.headers["location"]).group(1))
    pdf = await office.get(f"/office/invoices/{invoice_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert (await office.get("/office/invoices/999999.pdf")).status_code == 404


async def test_state_change_and_refusals(office, uow):
    async with uow() as s:
        order = await make_order(s, total="100.00")
        await register_payment(s, order.id, amount=Decimal("10"), method="bank")
        cancelled = await state_of(s, "cancelled")
        in_work = await state_of(s, "in_work")
    url = f"/office/orders/{order.id}"
    r = await office.post_form(f"{url}/state", {"state_id": str(cancelled.id)})
    assert r.status_code == 409  # paid orders are not cancelled
    r = await office.post_form(f"{url}/state", {"state_id": "abc"})
    assert r.status_code == 422
    r = await office.post_form(f"{url}/state", {"state_id": str(in_work.id)})
    assert r.status_code == 303
    async with uow() as s:
        assert (await s.get(Order, order.id)).state_id == in_work.id
    r = await office.post_form(url, {"due_at": "2026-99-01T10:00"})
    assert r.status_code == 422
    r = await office.post_form(url, {"responsible_id": "424242"})
    assert r.status_code == 422


async def test_unknown_ids_and_csrf(office, office_manager, uow):
    assert (await office.get("/office/orders/999999")).status_code == 404
    assert (await office.get("/office/orders/abc")).status_code in (404, 422)
    assert (
        await office.post_form("/office/orders/999999/payments", {"amount": "1"})
    ).status_code in (
        404,
        422,
    )
    async with uow() as s:
        order = await make_order(s, total="100.00")
    r = await office_manager.post(
        f"/office/orders/{order.id}/payments", data={"amount": "10", "method": "cash"}
    )
    assert r.status_code == 403
    r = await office_manager.post_form(
        f"/office/orders/{order.id}/payments", {"amount": "10", "method": "cash"}
    )
    assert r.status_code == 303


async def test_search_endpoints(office, uow):
    async with uow() as s:
        await make_buyer(s, name="Иван <Грозный>")
        await make_product(s, name="Шкаф", sku="SH-1", price="9000.00")
        await make_product(s, name="Шкаф старый", sku="SH-0", price="1.00", active=False)
    r = await office.get("/office/orders/customers.json?q=Иван")
    assert r.json()["items"][0]["name"] == "Иван <Грозный>"  # JSON, escaped by the DOM
    r = await office.get("/office/orders/products.json?q=Шкаф")
    assert [(p["sku"], p["price"]) for p in r.json()["items"]] == [("SH-1", "9000.00")]
    r = await office.get("/office/orders/products.json?q=" + "x" * 5000)
    assert r.json() == {"items": []}


def test_fast_money_and_time_filters_match_babel():
    """The journal's money and date-time filters skip Babel; the text stays Babel's."""
    import random
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime
    from babel.numbers import format_decimal

    from backoffice.office.templating import LOCALES, environment

    rnd = random.Random(8)
    values = [Decimal("0"), Decimal("-1250.5"), Decimal("0.005"), Decimal("9999999999999.99")]
    values += [Decimal(rnd.randint(-(10**11), 10**11)) / 100 for _ in range(500)]
    tz = ZoneInfo("Europe/Moscow")
    moment = datetime(2026, 3, 2, 21, 5, tzinfo=UTC)
    for lang, locale in LOCALES.items():
        money = environment(lang).filters["money"]
        for value in values:
            expected = format_decimal(value, format="#,##0.00", locale=locale) + "\u00a0₽"
            assert money(value) == expected, (lang, value)
        dt = environment(lang).filters["dt"]
        assert dt(moment, tz) == format_datetime(
            moment.astimezone(tz), "dd.MM.yyyy HH:mm", locale=locale
        )
        assert dt(moment, tz) == "03.03.2026 00:05"


def _refund_key(html: str) -> str:
    form = html[html.index('id="refund-form"') :]
    return re.search(r'name="key" value="(\w+)"', form).group(1)


async def test_refund_of_a_paid_order(office_manager, uow):
    async with uow() as s:
        order = await make_order(s, total="1000.00")
        await register_payment(s, order.id, amount=Decimal("600.00"), method="card")
        unpaid = await make_order(s, total="50.00")
    url = f"/office/orders/{order.id}"
    page = await office_manager.get(url)
    assert 'id="refund-form"' in page.text
    assert 'id="refund-form"' not in (await office_manager.get(f"/office/orders/{unpaid.id}")).text
    key = _refund_key(page.text)
    form = {"amount": "150,50", "comment": "Брак обивки", "key": key}
    for _attempt in range(2):  # a double click refunds once
        r = await office_manager.post_form(f"{url}/refunds", form)
        assert r.status_code == 303, r.text
    async with uow() as s:
        amounts = [
            p.amount
            for p in await s.scalars(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
            )
        ]
        assert (await get_order(s, order.id)).paid_amount == Decimal("449.50")
    assert amounts == [Decimal("600.00"), Decimal("-150.50")]
    page = await office_manager.get(url)
    assert "−150,50" in page.text or "-150,50" in page.text
    assert 'class="refund"' in page.text and "Брак обивки" in page.text
    assert _refund_key(page.text) != key  # a new form, a new key


async def test_refund_refusals(office, uow):
    async with uow() as s:
        order = await make_order(s, total="1000.00")
        await register_payment(s, order.id, amount=Decimal("100.00"), method="bank")
        unpaid = await make_order(s, total="50.00")
    url = f"/office/orders/{order.id}/refunds"
    for form, field in (
        ({"amount": "100.01", "comment": "x"}, "refund_amount"),  # more than paid
        ({"amount": "0", "comment": "x"}, "refund_amount"),
        ({"amount": "-5", "comment": "x"}, "refund_amount"),
        ({"amount": "много", "comment": "x"}, "refund_amount"),
        ({"amount": "NaN", "comment": "x"}, "refund_amount"),
        ({"amount": "1e9999", "comment": "x"}, "refund_amount"),
        ({"amount": "0.001", "comment": "x"}, "refund_amount"),
        ({"amount": "10", "comment": "  "}, "refund_comment"),
    ):
        r = await office.post_form(url, {**form, "key": "abc123"})
        assert r.status_code == 422, (form, r.text)
        assert f'id="{field}-error"' in r.text, form
        assert f'value="{form["amount"]}"' in r.text  # typed amount comes back
    r = await office.post_form(
        f"/office/orders/{unpaid.id}/refunds", {"amount": "1", "comment": "x"}
    )
    assert r.status_code == 422
    r = await office.post_form("/office/orders/999999/refunds", {"amount": "1", "comment": "x"})
    assert r.status_code == 404
    r = await office.post(url, data={"amount": "10", "comment": "без токена"})
    assert r.status_code == 403
    r = await office.post_form(url, {"amount": "10", "comment": XSS, "key": "k1"})
    assert r.status_code == 303
    page = await office.get(f"/office/orders/{order.id}")
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    async with uow() as s:
        refunds = list(
            await s.scalars(select(Payment).where(Payment.order_id == order.id, Payment.amount < 0))
        )
    assert [p.amount for p in refunds] == [Decimal("-10.00")]


def _journal_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-order-id="(\d+)"', html)]


async def test_journal_sorts_by_amount_customer_and_date(office, uow):
    async with uow() as s:
        bella = await make_buyer(s, name="Белла")
        anna = await make_buyer(s, name="Анна")
        vera = await make_buyer(s, name="Вера")
        b1 = await make_order(s, customer=bella, total="300.00")
        a1 = await make_order(s, customer=anna, total="100.00")
        v1 = await make_order(s, customer=vera, total="200.00")
        a2 = await make_order(s, customer=anna, total="500.00")
    newest = [a2.id, v1.id, a1.id, b1.id]  # same date: ties go by id, newest first
    assert _journal_ids((await office.get("/office/orders")).text) == newest
    assert _journal_ids((await office.get("/office/orders?sort=date")).text) == newest[::-1]
    r = await office.get("/office/orders?sort=amount")
    assert _journal_ids(r.text) == [a1.id, v1.id, b1.id, a2.id]
    assert _journal_ids((await office.get("/office/orders?sort=-amount")).text) == [
        a2.id,
        b1.id,
        v1.id,
        a1.id,
    ]
    # By customer name; one customer's orders newest first.
    r = await office.get("/office/orders?sort=customer")
    assert _journal_ids(r.text) == [a2.id, a1.id, b1.id, v1.id]
    r = await office.get("/office/orders?sort=-customer")
    assert _journal_ids(r.text) == [v1.id, b1.id, a2.id, a1.id]
    # The header links toggle the direction and keep the filters.
    r = await office.get("/office/orders?sort=amount&indicator=on_time")
    assert "sort=-amount" in r.text and "indicator=on_time" in r.text
    assert 'aria-sort="ascending"' in r.text
    # Sorting and filtering together; an unknown sort falls back to newest first.
    r = await office.get(f"/office/orders?sort=-amount&q={a1.number}")
    assert _journal_ids(r.text) == [a1.id]
    for hostile in ("amount;drop", "-customer--", "%00", "total"):
        r = await office.get("/office/orders", params={"sort": hostile})
        assert r.status_code == 200 and _journal_ids(r.text) == newest, hostile
