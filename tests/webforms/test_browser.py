"""End to end in a real browser: a page on another origin embeds the form, a person
fills it in headless Chromium, the lead shows up in the API with the UTM tags."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn

from crm_core.db import create_engine, session_factory
from tests.webforms.conftest import form_body

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_present() -> bool:
    return Path(CHROMIUM).exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Firma(threading.Thread):
    """The real app under uvicorn, on its own loop and engine, sharing the test clock."""

    def __init__(self, url: str, clock, port: int) -> None:
        super().__init__(daemon=True)
        from firma.app import Runtime, create_app
        from firma.settings import Settings

        engine = create_engine(url)
        runtime = Runtime(Settings(database_url=url), engine, session_factory(engine), clock)
        config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="error")
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run()

    def __enter__(self):
        self.start()
        deadline = time.monotonic() + 15
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.join(10)


def _host_page(firma_port: int) -> ThreadingHTTPServer:
    page = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<style>* {{ color: red !important; font-size: 40px }} input {{ display: none }}</style>
</head><body><h1>Магазин</h1>
<script src="http://127.0.0.1:{firma_port}/forms/callback/embed.js" data-form="callback"></script>
</body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def test_embedded_form_in_chromium(engine, api, clock):
    playwright = pytest.importorskip("playwright.async_api", reason="playwright not installed")
    if not _chromium_present():
        pytest.skip(f"{CHROMIUM} is missing (make test installs the Debian package chromium)")
    firma_port = _free_port()
    host = _host_page(firma_port)
    origin = f"http://127.0.0.1:{host.server_address[1]}"
    r = await api.post("/forms", json=form_body(allowed_origins=[origin]))
    assert r.status_code == 201, r.text
    url = engine.url.render_as_string(hide_password=False)
    try:
        async with playwright.async_playwright() as pw:
            try:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            except Exception as exc:
                pytest.skip(f"Chromium cannot be launched here: {exc}")
            with _Firma(url, clock, firma_port):
                page = await browser.new_page()
                async with page.expect_response(lambda resp: "/token" in resp.url):
                    await page.goto(f"{origin}/landing?utm_source=google&utm_campaign=e2e")
                await page.fill("#ff-name", "Мария Браузерова")
                await page.fill("#ff-phone", "8 (916) 765-43-21")
                await page.fill("#ff-message", "Хочу <b>узнать</b> цену")
                await page.check("#ff-consent")
                clock.advance(timedelta(seconds=5))  # a person takes a while to type
                await page.click("button[type=submit]")
                await page.get_by_text("Спасибо, перезвоним!").wait_for(timeout=10000)
                # She comes back another day and writes again, her phone spelled otherwise.
                async with page.expect_response(lambda resp: "/token" in resp.url):
                    await page.goto(f"{origin}/landing?utm_source=vk")
                await page.fill("#ff-name", "Мария")
                await page.fill("#ff-phone", "+7 916 765 43 21")
                await page.fill("#ff-message", "Повторный вопрос")
                await page.check("#ff-consent")
                clock.advance(timedelta(seconds=5))
                await page.click("button[type=submit]")
                await page.get_by_text("Спасибо, перезвоним!").wait_for(timeout=10000)
            await browser.close()
    finally:
        host.shutdown()
    leads = (await api.get("/leads", params={"q": "+79167654321"})).json()
    assert leads["total"] == 1
    lead = leads["items"][0]
    assert lead["name"] == "Мария Браузерова" and lead["utm_source"] == "google"
    assert lead["utm_campaign"] == "e2e" and lead["source"] == "web_form"
    events = (await api.get(f"/leads/{lead['id']}/events")).json()["items"]
    answers = sorted(
        (e["data"]["answers"]["message"], e["data"]) for e in events if e["kind"] == "web_form"
    )
    # De-duplicated: one lead, both requests on its card with every answer.
    assert [a for a, _ in answers] == ["Повторный вопрос", "Хочу <b>узнать</b> цену"]
    data = answers[1][1]
    assert data["page_url"].startswith(origin) and "referrer" not in data  # typed-in URL
