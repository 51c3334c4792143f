"""Make the back-office screenshots in this folder from the demo firm.

    .venv/bin/python docs/screenshots/make_screenshots.py

Creates a fresh SQLite database in a temporary folder, loads the demo firm with
``firma demo``, serves it with ``firma serve --no-worker --no-bot`` on a free port,
signs in as the demo admin in headless Chromium (Debian ``chromium``) and saves
``kanban.png``, ``orders.png`` and ``funnel.png`` (plus the customer card and the
calendar) next to this script.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIRMA = [sys.executable, "-m", "firma"]
CHROMIUM = "/usr/bin/chromium"
PAGES = {
    "kanban.png": "/office/leads/board",
    "orders.png": "/office/orders",
    "funnel.png": "/office/analytics/funnel?period=year",
    "customer.png": None,  # the first customer of the list
    "calendar.png": "/office/calendar",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the demo server did not start")


async def _shoot(base: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
        page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="ru-RU")
        await page.goto(f"{base}/office/login")
        await page.fill("#email", "admin@firma-demo.ru")
        await page.fill("#password", "demo-admin-2026")
        await page.click("button[type=submit]")
        await page.wait_for_load_state("networkidle")
        for name, path in PAGES.items():
            if path is None:
                await page.goto(f"{base}/office/customers")
                link = page.locator("table a[href^='/office/customers/']").first
                path = await link.get_attribute("href")
            await page.goto(f"{base}{path}")
            await page.wait_for_load_state("networkidle")
            await page.screenshot(path=str(HERE / name), full_page=False)
            print("saved", HERE / name)
        await browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "FIRMA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/demo.db",
            "FIRMA_TELEGRAM_BOT_TOKEN": "",
        }
        subprocess.run([*FIRMA, "db", "upgrade"], env=env, check=True, cwd=ROOT)
        subprocess.run([*FIRMA, "demo"], env=env, check=True, cwd=ROOT)
        port = _free_port()
        server = subprocess.Popen(
            [*FIRMA, "serve", "--no-worker", "--no-bot", "--port", str(port)], env=env, cwd=ROOT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            asyncio.run(_shoot(base))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
