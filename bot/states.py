"""FSM states of the conversations that take several messages."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Checkout(StatesGroup):
    contact = State()
    delivery = State()
    address = State()
    comment = State()
    confirm = State()
