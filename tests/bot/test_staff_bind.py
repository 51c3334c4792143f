"""Binding a manager's Telegram by a one-time invite, and the gate around manager functions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from crm_core.employees.invites import CODE_PREFIX, create_invite
from crm_core.employees.service import create_employee
from crm_core.models import Employee
from firma.cli import cli
from tests.bot.people import TgUser
from tests.bot.staff_helpers import bind_manager


async def test_invite_binds_once_and_registers_manager_commands(telegram, fake_tg, uow):
    anna = TgUser(fake_tg, 800001, "Анна")
    employee_id = await bind_manager(telegram, uow, anna, name="Анна", email="anna@firm.ru")
    assert "привязан" in fake_tg.last("sendMessage", anna.id).text
    commands = fake_tg.last("setMyCommands")
    assert commands.params["scope"] == {"type": "chat", "chat_id": anna.id}
    assert {"today", "leads", "tasks", "find"} <= {
        c["command"] for c in commands.params["commands"]
    }
    async with uow() as s:
        assert (await s.get(Employee, employee_id)).telegram_user_id == anna.id


async def test_used_and_expired_codes_are_refused(telegram, fake_tg, uow, clock):
    anna, eve = TgUser(fake_tg, 800001, "Анна"), TgUser(fake_tg, 800666, "Eve")
    async with uow() as s:
        await create_employee(s, name="Анна", email="anna@firm.ru")
        used = await create_invite(s, email="anna@firm.ru")
        late = await create_invite(s, email="anna@firm.ru")
    await telegram.feed(anna.says(f"/start {CODE_PREFIX}{used.code}"))
    await telegram.feed(eve.says(f"/start {CODE_PREFIX}{used.code}"))
    assert "уже использована" in fake_tg.last("sendMessage", eve.id).text
    clock.advance(timedelta(hours=24, seconds=1))
    await telegram.feed(eve.says(f"/start {CODE_PREFIX}{late.code}"))
    assert "истёк" in fake_tg.last("sendMessage", eve.id).text
    await telegram.feed(eve.says(f"/start {CODE_PREFIX}nonsense"))
    assert "недействительна" in fake_tg.last("sendMessage", eve.id).text
    async with uow() as s:
        bound = (await s.scalars(select(Employee.telegram_user_id))).all()
    assert bound == [anna.id]


async def test_an_unbound_user_never_reaches_manager_functions(telegram, fake_tg, uow, mallory):
    async with uow() as s:
        await create_employee(s, name="Анна", email="anna@firm.ru")
    await telegram.feed(mallory.says("/today"))
    assert "do not know that command" in fake_tg.last("sendMessage", mallory.id).text
    await telegram.feed(mallory.says("/leads"))
    assert "do not know that command" in fake_tg.last("sendMessage", mallory.id).text
    for data in (
        "sl:1:take:0",
        "sl:1:conv:0",
        "sl:1:hr:1",
        "sl:1:cb1:0",
        "sr:t:1:done",
        "so:1:set:2",
    ):
        await telegram.feed(mallory.taps(data))
        assert fake_tg.last("answerCallbackQuery").params["text"] == "This button is outdated."
    assert not fake_tg.of("setMyCommands")


async def test_cli_prints_a_deep_link_with_the_bot_username(
    engine, sessions, fake_tg, uow, monkeypatch
):
    async with uow() as s:
        await create_employee(s, name="Анна", email="anna@firm.ru")
    monkeypatch.setenv("FIRMA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("FIRMA_TELEGRAM_BOT_TOKEN", fake_tg.token)
    monkeypatch.setenv("FIRMA_TELEGRAM_API_URL", fake_tg.url)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["employee", "invite", "ANNA@firm.ru"]
    )
    assert result.exit_code == 0, result.output
    link = result.stdout.strip().splitlines()[0]
    assert link.startswith(f"https://t.me/firma_test_bot?start={CODE_PREFIX}")
    assert len(link.split("start=")[1]) <= 64
