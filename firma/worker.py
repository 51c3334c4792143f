"""The worker: drains the outbox into the subscribers that the doors provide."""

from __future__ import annotations

import asyncio
import functools
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
        form_subscribers(runtime.sessions, runtime.clock, runtime.settings.timezone),
        _form_confirmation_subscribers(runtime),
        _bot_subscribers(runtime),
    )


def _form_confirmation_subscribers(runtime: Runtime) -> dict[str, Sequence[Subscriber]]:
    """Registration confirmations by email: worded by the forms door, sent by messaging."""
    from messaging.email import create_email_transport
    from messaging.form_confirmations import form_confirmation_subscribers
    from webforms.confirmation import confirmation_writer

    transport = create_email_transport(runtime.settings.messaging())
    runtime.closers.append(transport.close)
    return form_confirmation_subscribers(
        runtime.sessions,
        transport,
        confirmation_writer(runtime.settings.language),
        clock=runtime.clock,
    )


def _bot_subscribers(runtime: Runtime) -> dict[str, Sequence[Subscriber]]:
    """Order status pushes to customers' Telegram, when the firm has a bot."""
    from firma.app import bot_config

    config = bot_config(runtime.settings)
    if config is None:
        return {}
    from bot.notify import bot_subscribers
    from bot.runtime import close_bot, create_bot
    from crm_core.cart.telegram import set_telegram_unreachable
    from crm_core.db import unit_of_work

    async def mark_blocked(chat_id: int) -> None:
        async with unit_of_work(runtime.sessions, clock=runtime.clock) as session:
            await set_telegram_unreachable(session, chat_id)

    from bot.staff_notify import staff_subscribers
    from bot.staff_orders import staff_order_subscribers

    bot, limits = create_bot(config, on_blocked=mark_blocked)
    runtime.closers.append(functools.partial(close_bot, bot, limits))
    staff = {
        "office_url": office_url(runtime),
        "clock": runtime.clock,
        "default_language": config.language,
        "on_queued": staff_bell(runtime).ring,
    }
    return merge_subscribers(
        bot_subscribers(
            bot, runtime.sessions, clock=runtime.clock, default_language=config.language
        ),
        # Leads, orders, payments, customers' messages → the staff's send queue.
        staff_subscribers(bot, runtime.sessions, **staff),
        staff_order_subscribers(runtime.sessions, **staff),
    )


def staff_bell(runtime: Runtime):
    """One doorbell per process: the staff subscribers ring, the staff sender wakes."""
    from bot.staff_sender import Doorbell

    bell = runtime.__dict__.get("_staff_bell")
    if bell is None:
        bell = runtime.__dict__["_staff_bell"] = Doorbell()
    return bell


def office_url(runtime: Runtime) -> str:
    """Where the back office is, for links in managers' messages."""
    settings = runtime.settings
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def build_reminder_sender(runtime: Runtime):
    """The staff desk: the staff send queue, reminders, overdue orders and daily
    agendas to employees' Telegram (``bot/staff_desk.py``); None without a bot."""
    from firma.app import bot_config

    config = bot_config(runtime.settings)
    if config is None:
        return None
    from bot.runtime import close_bot, create_bot
    from bot.staff_desk import StaffDesk
    from bot.staff_rate import create_rate

    bot, limits = create_bot(config)
    runtime.closers.append(functools.partial(close_bot, bot, limits))
    return StaffDesk(
        bot,
        runtime.sessions,
        office_url=office_url(runtime),
        rate=create_rate(
            config.redis_url,
            token=config.token,
            per_second=runtime.settings.telegram_send_rate,
        ),
        bell=staff_bell(runtime),
        clock=runtime.clock,
        default_language=config.language,
        keep_days=runtime.settings.telegram_keep_days,
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
    from messaging.runner import create_campaign_runner

    return create_campaign_runner(
        runtime.sessions,
        runtime.settings.messaging(),
        clock=runtime.clock,
        concurrency=runtime.settings.campaign_concurrency,
    )


def build_store_runner(runtime: Runtime):
    """The periodic store exchange: each due store's CommerceML run (channels/stores)."""
    from channels.stores.runner import StoreExchangeRunner

    return StoreExchangeRunner(
        runtime.sessions, runtime.settings.store_exchange(), clock=runtime.clock
    )


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
        steps.append(build_store_runner(runtime).run_forever(stop))
        await asyncio.gather(*steps)
    finally:
        await runtime.aclose()
