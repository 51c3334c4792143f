"""``/exchange/1c?type=sale``: orders out to 1C (query/success), 1C's word back (file)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select

from channels.commerceml.documents import read_documents
from crm_core.customers.service import create_customer
from crm_core.models import ExchangeLog, OnecOrder, Order, Payment, Shipment, StateCategory
from crm_core.orders.service import LineInput, get_order, register_payment
from tests.channels import test_onec_exchange as exchange_fixtures
from tests.channels.onec_client import FIXTURES
from tests.factories.commerce import make_order, make_product

XSD = etree.XMLSchema(etree.parse(str(FIXTURES / "commerceml-2.08.xsd")))

enabled = exchange_fixtures.enabled  # the 1C account, switched on
onec = exchange_fixtures.onec  # a fake 1C driving the real endpoint


async def make_orders(uow):
    async with uow() as s:
        buyer = await create_customer(
            s,
            name="Иван Петров",
            phones=["+7 916 123-45-67"],
            emails=["ivan@example.ru"],
            address="Москва, ул. Ленина, 1",
        )
        table = await make_product(s, name="Стол", sku="T-1", price="1500.00")
        table.external_id = "bd8c4e15-1c"
        first = await make_order(
            s,
            customer=buyer,
            lines=[
                LineInput(table.id, Decimal(2)),
                LineInput(None, Decimal(1), Decimal("300.00"), name="Доставка курьером"),
            ],
            channel="telegram",
            delivery_address="Москва, ул. Ленина, 1",
        )
        second = await make_order(s, total="999.90", channel="store")
    return first.number, second.number


async def sale(onec, mode: str, *, method: str = "GET", content: bytes | None = None, **params):
    return await onec.call(mode, method=method, content=content, type="sale", **params)


async def test_query_sends_untaken_orders_and_success_takes_only_those(onec, uow, clock):
    first, second = await make_orders(uow)
    assert (await onec.checkauth()).text.startswith("success")
    await onec.init()
    answer = await sale(onec, "query")
    assert answer.status_code == 200 and "xml" in answer.headers["content-type"]
    tree = etree.fromstring(answer.content)
    assert XSD.validate(tree), XSD.error_log.last_error  # strict writing: the schema holds
    documents = list(read_documents(io.BytesIO(answer.content)))  # and our reader reads it
    assert [d.number for d in documents] == [first, second]
    doc = documents[0]
    assert doc.total == Decimal("3300.00")
    assert doc.party.name == "Иван Петров" and doc.party.phones == ["+79161234567"]
    assert doc.party.emails == ["ivan@example.ru"] and doc.party.address.startswith("Москва")
    assert [(x.external_id, x.quantity, x.price) for x in doc.lines] == [
        ("bd8c4e15-1c", Decimal(2), Decimal("1500.00")),
        ("ORDER_DELIVERY", Decimal(1), Decimal("300.00")),
    ]
    assert doc.lines[1].is_delivery and doc.lines[1].is_service
    assert doc.requisites["Заказ оплачен"] == "false" and doc.requisites["Отменен"] == "false"
    assert doc.requisites["Канал продаж"] == "telegram"

    async with uow() as s:  # an order made after the query is not in it
        late = await make_order(s, total="10.00")
    assert (await sale(onec, "success")).text == "success\n"
    async with uow() as s:
        taken = await s.scalar(select(func.count()).where(OnecOrder.taken_at.is_not(None)))
    assert taken == 2
    again = list(read_documents(io.BytesIO((await sale(onec, "query")).content)))
    assert [d.number for d in again] == [late.number]


def onec_answer(documents: str) -> bytes:
    """Documents as 1C (УТ 11) sends them back, in windows-1251."""
    return (
        '<?xml version="1.0" encoding="windows-1251"?>\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-03-02T12:00:00">'
        f"{documents}</КоммерческаяИнформация>"
    ).encode("cp1251")


def onec_document(number: str, total: str, **requisites: str) -> str:
    values = "".join(
        f"<ЗначениеРеквизита><Наименование>{k.replace('_', ' ')}</Наименование>"
        f"<Значение>{v}</Значение></ЗначениеРеквизита>"
        for k, v in requisites.items()
    )
    return (
        f"<Документ><Ид>{number}</Ид><Номер>УТ-{number[-6:]}</Номер><Дата>2026-03-02</Дата>"
        "<ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта>"
        f"<Курс>1</Курс><Сумма>{total}</Сумма><Время>11:30:00</Время>"
        f"<ЗначенияРеквизитов>{values}</ЗначенияРеквизитов></Документ>"
    )


async def send_back(onec, data: bytes, name: str = "orders-1c.xml") -> list[str]:
    await onec.checkauth()
    await onec.init()
    answers = []
    for start in range(0, len(data), onec.file_limit):
        chunk = data[start : start + onec.file_limit]
        answers.append((await sale(onec, "file", method="POST", content=chunk, filename=name)).text)
    answers.append((await sale(onec, "import", filename=name)).text)
    return answers


async def test_1c_posts_pays_and_ships_once(onec, uow, clock):
    first, _ = await make_orders(uow)
    body = onec_answer(
        onec_document(
            first,
            "3300.00",
            Проведен="true",
            Номер_по_1С="УТ-000777",
            Дата_по_1С="2026-03-02T11:30:00",
            Номер_оплаты_по_1С="ПП-15",
            Дата_оплаты_по_1С="2026-03-02T12:00:00",
            Номер_отгрузки_по_1С="РТ-9",
            Дата_отгрузки_по_1С="02.03.2026 13:00:00",
        )
        + onec_document("ЗК-1999-999999", "1.00", Проведен="true")  # not ours
    )
    for _ in range(2):  # 1C sends the same file again: nothing doubles
        assert (await send_back(onec, body))[-1] == "success\n"
    async with uow() as s:
        order = await s.scalar(select(Order).where(Order.number == first))
        full = await get_order(s, order.id)
        link = await s.get(OnecOrder, order.id)
        payments = list(await s.scalars(select(Payment).where(Payment.order_id == order.id)))
        shipments = await s.scalar(select(func.count()).where(Shipment.order_id == order.id))
        logs = list(await s.scalars(select(ExchangeLog).where(ExchangeLog.type == "sale")))
    assert full.state.code == "in_work"  # posted in 1C: out of the initial state
    assert (
        full.paid_amount == full.total == Decimal("3300.00") and full.shipped_amount == full.total
    )
    assert [p.amount for p in payments] == [Decimal("3300.00")] and shipments == 1
    assert payments[0].paid_at.hour == 9  # 12:00 Moscow
    assert link.number_1c == "УТ-000777" and link.posted and link.taken_at is not None
    last = logs[-1]
    assert last.status == "success" and last.counts["orders_unknown"] == 1
    assert last.errors[0]["id"] == "ЗК-1999-999999"


async def test_1c_cancels_an_unpaid_order_and_a_paid_one_is_refused(onec, uow):
    first, second = await make_orders(uow)
    async with uow() as s:
        paid = await s.scalar(select(Order).where(Order.number == first))
        await register_payment(s, paid.id, amount=Decimal(100), method="cash")
    body = onec_answer(
        onec_document(first, "3300.00", Отменен="true")
        + onec_document(second, "999.90", Отменен="true")
    )
    assert (await send_back(onec, body))[-1] == "success\n"
    async with uow() as s:
        orders = {o.number: o for o in await s.scalars(select(Order))}
        entry = await s.scalar(select(ExchangeLog).where(ExchangeLog.mode == "import"))
    assert orders[second].category == StateCategory.CANCELLED
    assert orders[first].category == StateCategory.OPEN  # paid: 1C cannot cancel it here
    assert entry.counts["orders_failed"] == 1 and "refund" in entry.errors[0]["error"]


@pytest.mark.parametrize(
    "payload",
    [b"<not xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'],
    ids=["broken", "dtd"],
)
async def test_broken_or_hostile_orders_file_fails_cleanly(onec, uow, payload):
    await make_orders(uow)
    answers = await send_back(onec, payload)
    assert answers[0].startswith("failure\n")
    async with uow() as s:
        failed = await s.scalar(select(func.count()).where(ExchangeLog.status == "failure"))
        paid = await s.scalar(select(func.count()).select_from(Payment))
    assert failed >= 1 and paid == 0
