"""A fake online store on 127.0.0.1: the site side of CommerceML 2 as 1C-Bitrix plays
it (``/bitrix/admin/1c_exchange.php``), for Firma's store client to talk to.

Basic auth at ``checkauth`` → a session cookie and a ``sessid`` that every later
request must carry; ``init`` → ``zip`` and ``file_limit``; ``file`` chunks appended
(a chunk over the limit refused); ``import`` answers ``progress`` a few times, then
``success`` after parsing what arrived with Firma's own reader (so a test sees the
store's view of the catalog); ``type=sale&mode=query`` serves the Bitrix orders
fixture; ``success`` and ``file`` (statuses back) are recorded. Faults on demand: a
wrong password, ``failure`` at import, never ``success``, a broken orders file, a
slow answer, a connection dropped mid-upload.
"""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
import zipfile
from dataclasses import dataclass, field

from aiohttp import web

from channels.commerceml import read_catalog
from channels.commerceml.documents import read_documents
from tests.channels.onec_client import fixture

PATH = "/bitrix/admin/1c_exchange.php"
COOKIE = "PHPSESSID"


@dataclass
class FakeStore:
    login: str = "firma"
    password: str = "store-secret"
    zip: bool = False
    file_limit: int = 64 * 1024
    progress_steps: int = 2
    orders: bytes = field(default_factory=lambda: fixture("bitrix-query-response-full.xml"))
    # faults
    fail_import: str | None = None
    never_success: bool = False
    slow_s: float = 0.0
    drop_chunks: int = 0  # close the connection on this many upload chunks
    discard: bool = False  # count uploads only, keep and parse nothing (benchmarks)
    # what happened
    calls: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)
    files: dict[str, bytearray] = field(default_factory=dict)
    catalog: list = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    statuses: list = field(default_factory=list)
    successes: int = 0
    _sessions: set[str] = field(default_factory=set)
    _progress: dict[str, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> FakeStore:
        app = web.Application(client_max_size=1024 * 1024 * 1024)
        app.router.add_route("*", PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{PATH}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def modes(self, kind: str | None = None) -> list[str]:
        return [m for k, m in self.calls if kind is None or k == kind]

    def _authorized(self, request: web.Request) -> bool:
        cookie = request.cookies.get(COOKIE)
        return cookie in self._sessions and request.query.get("sessid") == cookie[:8]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        kind = request.query.get("type", "")
        mode = request.query.get("mode", "")
        self.calls.append((kind, mode))
        if self.slow_s:
            await asyncio.sleep(self.slow_s)
        if mode == "checkauth":
            return self._checkauth(request)
        if not self._authorized(request):
            return web.Response(text="failure\nAccess denied: no session")
        if mode == "init":
            self.files.clear()
            self._progress.clear()
            sessid = request.cookies[COOKIE][:8]
            zip_flag = "yes" if self.zip else "no"
            text = f"zip={zip_flag}\nfile_limit={self.file_limit}\nsessid={sessid}\nversion=2.08"
            return web.Response(text=text)
        if kind == "catalog" and mode == "file":
            return await self._file(request)
        if kind == "catalog" and mode == "import":
            return self._import(request.query.get("filename", ""))
        if kind == "sale" and mode == "query":
            return web.Response(
                body=self.orders, content_type="application/xml", charset="windows-1251"
            )
        if kind == "sale" and mode == "success":
            self.successes += 1
            return web.Response(text="success")
        if kind == "sale" and mode == "file":
            body = await request.read()
            self.statuses.extend(read_documents(io.BytesIO(body)))
            return web.Response(text="success")
        return web.Response(text=f"failure\nUnknown mode {mode}")

    def _checkauth(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        if header != f"Basic {expected}":
            return web.Response(text="failure\nНеверный логин или пароль")
        session = secrets.token_hex(16)
        self._sessions.add(session)
        return web.Response(text=f"success\n{COOKIE}\n{session}\nsessid={session[:8]}\n")

    async def _file(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.drop_chunks and self.chunks:  # after the first chunk arrived
            self.drop_chunks -= 1
            request.transport.close()  # the connection breaks mid-upload
            return web.Response(text="")
        if len(body) > self.file_limit:
            return web.Response(text=f"failure\nChunk over file_limit {self.file_limit}")
        self.chunks.append(len(body))
        name = request.query.get("filename", "")
        received = self.files.setdefault(name, bytearray())
        if not self.discard:
            received.extend(body)
        return web.Response(text="success")

    def _import(self, filename: str) -> web.Response:
        if self.fail_import:
            return web.Response(text=f"failure\n{self.fail_import}")
        if self.discard:
            self.imported.append(filename)
            return web.Response(text="success")
        for name in [n for n in self.files if n.endswith(".zip")]:
            with zipfile.ZipFile(io.BytesIO(bytes(self.files.pop(name)))) as archive:
                for inner in archive.namelist():
                    self.files[inner] = bytearray(archive.read(inner))
        if filename not in self.files:
            return web.Response(text=f"failure\nFile {filename} not received")
        done = self._progress.get(filename, 0)
        if self.never_success or done < self.progress_steps:
            self._progress[filename] = done + 1
            return web.Response(text=f"progress\nImported step {done + 1}")
        if filename not in self.imported:
            self.catalog.extend(read_catalog(io.BytesIO(bytes(self.files[filename]))))
            self.imported.append(filename)
        return web.Response(text="success\nImport complete")
