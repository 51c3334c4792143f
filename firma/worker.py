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


async def run_worker(runtime: Runtime) -> None:
    """``firma worker``: run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    relay = build_relay(runtime)
    log.info("worker %s started", relay.worker_id)
    try:
        await relay.run_forever(stop)
    finally:
        await runtime.engine.dispose()
