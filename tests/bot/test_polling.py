"""``firma bot`` as a firm without a public URL runs it: a real subprocess long-polling
the fake Bot API (getUpdates), answering, and stopping cleanly on Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from sqlalchemy import select

from crm_core.models import Lead


async def test_firma_bot_long_polls_and_answers(engine, sessions, fake_tg, ivan, uow):
    env = {
        **os.environ,
        "FIRMA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "FIRMA_TELEGRAM_BOT_TOKEN": fake_tg.token,
        "FIRMA_TELEGRAM_API_URL": fake_tg.url,
        "FIRMA_PUBLIC_URL": "",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "firma", "bot", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:

        async def replies_reach(count: int) -> None:
            for _ in range(2400):  # up to 2 minutes: a loaded machine imports slowly
                if len(fake_tg.of("sendMessage", ivan.id)) >= count:
                    return
                await asyncio.sleep(0.05)

        # One update at a time: updates of one getUpdates batch are handled concurrently.
        fake_tg.updates.put_nowait(ivan.says("/start"))
        await replies_reach(1)
        fake_tg.updates.put_nowait(ivan.shares("79161234567"))
        await replies_reach(2)
        replies = [c.text for c in fake_tg.of("sendMessage", ivan.id)]
        assert len(replies) == 2, (replies, [c.method for c in fake_tg.calls])
        assert "Здравствуйте" in replies[0] and "Мы вас узнали" in replies[1]
        assert fake_tg.of("deleteWebhook") and len(fake_tg.of("setMyCommands")) == 2
    finally:
        child.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert b"Unclosed client session" not in stderr, stderr.decode()
    async with uow() as s:
        lead = (await s.scalars(select(Lead))).one()
    assert lead.source.value == "telegram"
