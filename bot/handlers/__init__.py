"""The customer cabinet's routers, in the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router


def customer_routers() -> list[Router]:
    # Built anew per dispatcher: a Router can belong to one parent only, and the tests
    # and the benchmark build several dispatchers in one process.
    from bot.handlers import cart, catalog, chat, checkout, fallback, orders, payments, start

    return [
        m.make_router() for m in (checkout, start, catalog, cart, orders, payments, chat, fallback)
    ]
