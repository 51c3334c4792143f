"""A campaign worker as its own process, for the kill test:
``python -m tests.messaging.campaign_worker DB_URL SMTP_PORT CONCURRENCY``.
Sends through real SMTP to the test's server; SIGTERM stops it cleanly, SIGKILL not."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from crm_core.db import create_engine, session_factory
from messaging.config import MessagingConfig, SmtpConfig
from messaging.email import SmtpTransport
from messaging.runner import CampaignRunner

CONFIG = dict(
    mail_from="Firma <shop@firma.example>",
    secret_key="test-secret",
    public_url="https://crm.firma.example",
)


async def main(url: str, port: int, concurrency: int) -> None:
    engine = create_engine(url)
    config = MessagingConfig(
        smtp=SmtpConfig(host="127.0.0.1", port=port, timeout=10, pool_size=4), **CONFIG
    )
    runner = CampaignRunner(
        session_factory(engine),
        SmtpTransport(config),
        config,
        concurrency=concurrency,
        lease=timedelta(seconds=2),
        idle_sleep=0.05,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    try:
        await runner.run_forever(stop)
    finally:
        await runner.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
