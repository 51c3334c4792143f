"""Browsing does not queue behind writers: on SQLite its transaction begins DEFERRED, so
the catalog, the cart, the orders and the 10-second pre-checkout answer while another
transaction holds the write lock (a long write elsewhere in the firm)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import text

from crm_core.catalog.service import update_product
from crm_core.customers.service import create_customer
from crm_core.orders.lines import LineInput
from tests.factories.commerce import make_order


async def test_browsing_and_pre_checkout_answer_while_the_write_lock_is_held(
    telegram, fake_tg, ivan, shop, uow
):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer, total="990.00")
    browsing = [
        ivan.says("/catalog"),
        ivan.taps(f"g:{shop['tools']}:0"),
        ivan.taps(f"p:{shop['drill']}"),
        ivan.says("/cart"),
        ivan.says("/orders"),
        ivan.taps(f"o:{order.id}:card"),
        ivan.pre_checkout(f"order:{order.id}", 99000),
    ]
    async with uow() as writer:  # holds SQLite's write lock until the block ends
        await writer.execute(text("UPDATE customers SET name = name WHERE id = :id"), {"id": 0})
        for update in browsing:
            await asyncio.wait_for(telegram.feed(update), timeout=5)
    assert "Каталог" in fake_tg.of("sendMessage", ivan.id)[0].text
    assert "Дрель" in fake_tg.of("sendMessage", ivan.id)[1].text
    assert fake_tg.last("answerPreCheckoutQuery").params["ok"] is True
    assert len(fake_tg.of("answerCallbackQuery")) == 3


async def test_repeat_puts_the_orders_goods_back_into_the_cart(telegram, fake_tg, ivan, shop, uow):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(
            s,
            customer=customer,
            lines=[
                LineInput(shop["drill"], Decimal(2)),
                LineInput(shop["white"], Decimal(3)),
                LineInput(None, Decimal(1), Decimal("500.00"), name="Доставка"),
            ],
        )
        await update_product(s, shop["white"], active=False)  # gone from the catalog since
    await telegram.feed(ivan.taps(f"o:{order.id}:repeat"))
    assert (
        fake_tg.last("answerCallbackQuery").params["text"] == "Товары заказа добавлены в корзину."
    )
    cart = fake_tg.last("sendMessage", ivan.id).text
    assert "Дрель × 2 = 9 980.00 ₽" in cart and "краска" not in cart and "Доставка" not in cart
    await telegram.feed(ivan.taps(f"o:{order.id}:repeat"))  # twice: quantities add up
    assert "Дрель × 4" in fake_tg.last("sendMessage", ivan.id).text
