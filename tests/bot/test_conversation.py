"""The whole path over HTTP: Telegram posts to ``POST /telegram/webhook`` of the real
app, the real bot answers at the fake Bot API: start → contact → catalog → cart →
checkout → order → pay → status push; another user tries that order's buttons."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import uvicorn
from sqlalchemy import select

from crm_core.models import Order, Payment
from crm_core.orders.service import change_order_state, get_order, paid_percent
from firma.app import Runtime, create_app
from firma.settings import Settings
from firma.worker import build_relay
from tests.bot.conftest import PROVIDER, SECRET


class Webhook:
    def __init__(self, fake, url: str) -> None:
        self.fake, self.url = fake, url

    async def __call__(self, update: dict, secret: str | None = SECRET) -> int:
        return await self.fake.post_update(self.url, update, secret)


@pytest.fixture
async def served(engine, sessions, clock, fake_tg) -> AsyncIterator[tuple[Runtime, Webhook]]:
    """``firma serve`` in-process on a free port, its bot pointed at the fake server."""
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        telegram_bot_token=fake_tg.token,
        telegram_api_url=fake_tg.url,
        telegram_webhook_secret=SECRET,
        telegram_payment_provider_token=PROVIDER,
        public_url="http://127.0.0.1:9",
    )
    runtime = Runtime(settings=settings, engine=engine, sessions=sessions, clock=clock)
    app = create_app(runtime)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield runtime, Webhook(fake_tg, f"http://127.0.0.1:{port}/telegram/webhook")
    server.should_exit = True
    await task


def data_of(call, starts_with: str) -> str:
    return call.button(starts_with)["callback_data"]


async def test_webhook_checks_the_secret(served, fake_tg, ivan):
    _, post = served
    for _ in range(100):  # the lifespan registers the webhook and the commands
        if fake_tg.of("setWebhook") and len(fake_tg.of("setMyCommands")) == 2:
            break
        await asyncio.sleep(0.02)
    assert fake_tg.last("setWebhook").params["secret_token"] == SECRET
    languages = {c.params.get("language_code") for c in fake_tg.of("setMyCommands")}
    assert languages == {None, "en"}
    assert await post(ivan.says("/help"), secret="wrong") == 401
    assert await post(ivan.says("/help"), secret=None) == 401
    assert not fake_tg.of("sendMessage", ivan.id)
    assert await post(ivan.says("/help")) == 200
    assert "/catalog" in fake_tg.last("sendMessage", ivan.id).text


async def test_start_to_paid_order_with_status_push(served, fake_tg, ivan, mallory, shop, uow):
    runtime, post = served
    assert await post(ivan.says("/start")) == 200
    assert await post(ivan.shares("79161234567")) == 200

    await post(ivan.says("/catalog"))
    groups = fake_tg.last("sendMessage", ivan.id)
    await post(ivan.taps(data_of(groups, "Инструмент")))
    products = fake_tg.last("editMessageText", ivan.id)
    assert "Инструмент" in products.text
    # The button's answer rode back in the webhook's reply: one request, not two.
    assert fake_tg.last("answerCallbackQuery").in_reply
    await post(ivan.taps(data_of(products, "Дрель")))
    card = fake_tg.last("sendMessage", ivan.id)
    assert "4 990.00 ₽" in card.text and "7 шт" in card.text
    await post(ivan.taps(data_of(card, "➕")))
    plus = fake_tg.last("editMessageReplyMarkup", ivan.id)
    await post(ivan.taps(data_of(plus, "+")))
    assert fake_tg.last("answerCallbackQuery").params["text"] == "В корзине: 2"
    await post(ivan.taps(data_of(products, "Пила")))
    photo = fake_tg.last("sendPhoto", ivan.id)
    assert photo.params["photo"] == "https://example.com/saw.jpg"
    await post(ivan.taps(data_of(photo, "➕")))

    await post(ivan.says("/cart"))
    cart = fake_tg.last("sendMessage", ivan.id)
    assert "Итого: 11 480.50 ₽" in cart.text
    await post(ivan.taps(data_of(cart, "✅")))
    await post(ivan.taps(data_of(fake_tg.last("sendMessage", ivan.id), "🚚")))
    assert "адрес" in fake_tg.last("sendMessage", ivan.id).text
    await post(ivan.says("Тверь, ул. Советская, 1"))
    await post(ivan.says("Позвоните за час"))
    summary = fake_tg.last("sendMessage", ivan.id)
    assert "Тверь" in summary.text and "Позвоните за час" in summary.text
    await post(ivan.taps(data_of(summary, "✅")))
    created = fake_tg.last("editMessageText", ivan.id)
    assert "принят" in created.text

    async with uow() as s:
        order = (await s.scalars(select(Order))).one()
        order = await get_order(s, order.id)
    assert order.channel == "telegram"
    assert order.total == Decimal("11480.50")
    assert order.delivery_address == "Тверь, ул. Советская, 1"
    assert [(x.name, x.quantity) for x in order.lines] == [("Дрель", 2), ("Пила", 1)]

    # Someone else presses that order's buttons: nothing of it is shown or changed.
    for action in ("card", "pay", "pdf", "repeat"):
        await post(mallory.taps(f"o:{order.id}:{action}"))
        assert fake_tg.last("answerCallbackQuery").params["text"] == "Not found."
    await post(mallory.pre_checkout(f"order:{order.id}", 1148050))
    assert fake_tg.last("answerPreCheckoutQuery").params["ok"] is False
    assert not fake_tg.of("sendInvoice") and not fake_tg.of("sendDocument")
    assert not fake_tg.replies(mallory.id)

    await post(ivan.says("/orders"))
    listing = fake_tg.last("sendMessage", ivan.id)
    assert listing.buttons()[0]["text"].startswith("🟢 № ")
    await post(ivan.taps(f"o:{order.id}:card"))
    card = fake_tg.last("editMessageText", ivan.id)
    assert "Оплачено: 0%" in card.text
    await post(ivan.taps(data_of(card, "📄")))
    assert fake_tg.last("sendDocument", ivan.id).params["document"]["size"] > 1000
    await post(ivan.taps(data_of(card, "💳")))
    invoice = fake_tg.last("sendInvoice", ivan.id)
    assert invoice.params["provider_token"] == PROVIDER
    assert invoice.params["prices"][0]["amount"] == 1148050
    payload = invoice.params["payload"]

    await post(ivan.pre_checkout(payload, 1148000))  # a wrong amount
    assert fake_tg.last("answerPreCheckoutQuery").params["ok"] is False
    await post(ivan.pre_checkout(payload, 1148050))
    assert fake_tg.last("answerPreCheckoutQuery").params["ok"] is True
    await post(ivan.paid(payload, 1148050, "charge-1"))
    await post(ivan.paid(payload, 1148050, "charge-1"))  # Telegram resends: still one
    assert "получена" in fake_tg.last("sendMessage", ivan.id).text
    async with uow() as s:
        order = await get_order(s, order.id)
        payments = (await s.scalars(select(Payment))).all()
    assert paid_percent(order) == 100
    assert len(payments) == 1 and payments[0].method == "telegram"

    async with uow() as s:
        await change_order_state(s, order.id, state_code="in_work")
    relay = build_relay(runtime)
    while await relay.run_once():
        pass
    pushes = [c.text for c in fake_tg.of("sendMessage", ivan.id)[-2:]]
    assert any("оплачено 100%" in t for t in pushes), pushes
    assert any("новый статус — В работе" in t for t in pushes), pushes
