"""The worker: drains the outbox into the subscribers that the doors provide."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crm_core.forms import form_subscribers
from crm_core.outbox import OutboxRelay
from crm_core.outbox.relay import Subscriber

if TYPE_CHECKING:
    from firma.app import Runtime

log = logging.getLogger(__name__)


def subscribers(runtime: Runtime) -> dict[str, Sequence[Subscriber]]:
    """Topic → subscribers. The doors' subscribers are registered here as they land."""

    async def log_event(event) -> None:
        log.info("outbox %s #%s %s", event.topic, event.id, event.payload)

    return merge_subscribers(
        {"*": [log_event]},
        form_subscribers(runtime.sessions, runtime.clock),
        _bot_subscribers(runtime),
    )


def _bot_subscribers(runtime: Runtime) -> dict[str, Sequence[Subscriber]]:
    """Order status pushes to customers' Telegram, when the firm has a bot."""
    from firma.app import bot_config

    config = bot_config(runtime.settings)
    if config is None:
        return {}
    from bot.notify import bot_subscribers
    from bot.runtime import create_bot
    from crm_core.cart.telegram import set_telegram_unreachable
    from crm_core.db import unit_of_work

    async def mark_blocked(chat_id: int) -> None:
        async with unit_of_work(runtime.sessions, clock=runtime.clock) as session:
            await set_telegram_unreachable(session, chat_id)

    from bot.staff_notify import staff_subscribers

    bot, _limits = create_bot(config, on_blocked=mark_blocked)
    return merge_subscribers(
        bot_subscribers(
            bot, runtime.sessions, clock=runtime.clock, default_language=config.language
        ),
        # New and repeated leads to the managers' Telegram (bound employees).
        staff_subscribers(
            bot,
            runtime.sessions,
            office_url=office_url(runtime),
            clock=runtime.clock,
            default_language=config.language,
        ),
    )


def office_url(runtime: Runtime) -> str:
    """Where the back office is, for links in managers' messages."""
    settings = runtime.settings
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def build_reminder_sender(runtime: Runtime):
    """The periodic reminder step (events and tasks to the employee's Telegram);
    None when the firm has no bot."""
    from firma.app import bot_config

    config = bot_config(runtime.settings)
    if config is None:
        return None
    from bot.runtime import create_bot
    from bot.staff_reminders import ReminderSender

    bot, _limits = create_bot(config)
    return ReminderSender(
        bot, runtime.sessions, clock=runtime.clock, default_language=config.language
    )


def merge_subscribers(
    *registrations: dict[str, Sequence[Subscriber]],
) -> dict[str, list[Subscriber]]:
    """Join the doors' registrations: several doors may listen to one topic."""
    merged: dict[str, list[Subscriber]] = {}
    for registration in registrations:
        for topic, subs in registration.items():
            merged.setdefault(topic, []).extend(subs)
    return merged


def build_relay(runtime: Runtime) -> OutboxRelay:
    return OutboxRelay(runtime.sessions, subscribers(runtime), clock=runtime.clock)


def build_campaign_runner(runtime: Runtime):
    """The periodic campaign step: sends claimed delivery rows (see messaging/runner.py)."""
    from messaging.email import create_email_transport
    from messaging.runner import CampaignRunner

    config = runtime.settings.messaging()
    transport = create_email_transport(config)
    return CampaignRunner(runtime.sessions, transport, config, clock=runtime.clock)


async def run_worker(runtime: Runtime) -> None:
    """``firma worker``: run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    relay = build_relay(runtime)
    log.info("worker %s started", relay.worker_id)
    try:
        campaigns = build_campaign_runner(runtime)
        steps = [relay.run_forever(stop), campaigns.run_forever(stop)]
        reminders = build_reminder_sender(runtime)
        if reminders is not None:
            steps.append(reminders.run_forever(stop))
        await asyncio.gather(*steps)
    finally:
        await runtime.engine.dispose()
