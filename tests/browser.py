"""The real app under uvicorn in a thread, and headless Debian Chromium via Playwright,
for end-to-end tests. Tests skip (with the reason) when Chromium is not installed."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn

from crm_core.db import create_engine, session_factory

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveFirma(threading.Thread):
    """``with LiveFirma(db_url, clock) as firma: firma.url`` — the whole app on its own
    loop and engine (sharing the test's clock), on a free port of 127.0.0.1."""

    def __init__(self, url: str, clock, port: int | None = None, **settings) -> None:
        super().__init__(daemon=True)
        from firma.app import Runtime, create_app
        from firma.settings import Settings

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        engine = create_engine(url)
        runtime = Runtime(
            Settings(database_url=url, public_url=None, **settings),
            engine,
            session_factory(engine),
            clock,
        )
        config = uvicorn.Config(
            create_app(runtime, with_bot=False),
            host="127.0.0.1",
            port=self.port,
            log_level="error",
        )
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run()

    def __enter__(self) -> LiveFirma:
        self.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            raise RuntimeError("the app did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.join(10)


def chromium_present() -> bool:
    return Path(CHROMIUM).exists()


@asynccontextmanager
async def chromium():
    """A headless Chromium browser (skips the test when there is none)."""
    playwright = pytest.importorskip("playwright.async_api", reason="playwright not installed")
    if not chromium_present():
        pytest.skip(f"{CHROMIUM} is missing (make test installs the Debian package chromium)")
    async with playwright.async_playwright() as pw:
        try:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as exc:  # pragma: no cover - depends on the machine
            pytest.skip(f"Chromium cannot be launched here: {exc}")
        try:
            yield browser
        finally:
            await browser.close()
