"""``/exchange/1c``: Firma as the firm's site in 1C's "обмен с сайтом" (CommerceML 2).

1C is the HTTP client: ``checkauth`` with Basic auth (answered with a session
cookie), ``init`` (we say whether zip is welcome and the largest request), ``file``
(chunks appended, zips kept for ``import``), ``import`` repeated while we answer
``progress``, until ``success`` or ``failure\\n<reason>``. Parameters come in the
query string for GET and POST alike; a POST's body is the file chunk.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import binascii
import concurrent.futures
import dataclasses
import hashlib
import hmac
import itertools
import logging
import queue
import secrets
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.commerceml import UnsafeXML, read_catalog
from channels.commerceml.reader import read_item_ids
from channels.onec_files import (
    IMAGE_SUFFIXES,
    OnecConfig,
    UnsafePath,
    append_chunk,
    clean_old_sessions,
    clear,
    keep_images,
    safe_path,
    session_dir,
    unpack_zips,
)
from channels.onec_sale import SaleExchange
from crm_core.context import Actor, ActorKind, Clock
from crm_core.db import unit_of_work
from crm_core.errors import DomainError
from crm_core.exchange.catalog_import import (
    deactivate_missing,
    full_import_started,
    import_catalog_step,
)
from crm_core.exchange.log import log_failure, open_log, record_step
from crm_core.exchange.records import CatalogHeader, OfferRecord, ProductRecord, Record
from crm_core.exchange.settings import check_exchange_login, password_fingerprint

log = logging.getLogger(__name__)

COOKIE = "firma_1c"
ACTOR = Actor(ActorKind.SYSTEM, None, "1C exchange")
CATALOG_PREFIXES = ("import", "offers", "prices", "rests")
MEDIA_URL = "/exchange/media/"
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Cache-Control": "public, max-age=86400",
}
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Firma 1C exchange", charset="UTF-8"'}


def _answer(
    text: str, status: int = 200, headers: dict[str, str] | None = None
) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status, headers=headers)


def _failure(
    reason: str, status: int = 200, headers: dict[str, str] | None = None
) -> PlainTextResponse:
    return _answer(f"failure\n{reason}", status, headers)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, sep, password = base64.b64decode(value).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (login, password) if sep else None


def _sign(config: OnecConfig, fingerprint: str, nonce: str, issued: int) -> str:
    # Signed with the password hash too: changing the password ends every session.
    key = hashlib.sha256(f"{config.secret_key}\x00{fingerprint}".encode()).digest()
    return hmac.new(key, f"{nonce}.{issued}".encode(), hashlib.sha256).hexdigest()


@dataclass
class _OpenRead:
    """A catalog file's reader left where a step ended, for the next step to go on."""

    fh: BinaryIO
    records: Iterator[Record | CatalogHeader]
    headers: list[Record | CatalogHeader]
    pending: Record | CatalogHeader | None
    stamp: tuple[int, int, int]
    at: float
    # The thread that made it: its parse state is freed on that thread only.
    thread: int = dataclasses.field(default_factory=threading.get_ident)


class _ParseThread:
    """The one thread every catalog reader is made, resumed and ended on.

    A reader kept open between steps is an lxml ``iterparse`` whose libxml2 parse state
    belongs to the thread that started it (lxml keeps a name dictionary per thread).
    Resumed from whichever thread of the event loop's pool was free, and ended after
    that pool's threads had exited, it crashed the process now and then with
    ``munmap_chunk(): invalid pointer``. One long-lived daemon thread keeps every reader
    on its own thread, also at interpreter exit (when a ``ThreadPoolExecutor``'s threads
    are already gone). Catalog parses of several exchanges take turns, which costs
    nothing under the GIL.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn, /, *args) -> concurrent.futures.Future:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="commerceml-parse", daemon=True
                )
                self._thread.start()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((fn, args, future))
        return future

    async def run(self, fn, /, *args):
        return await asyncio.wrap_future(self.submit(fn, *args))

    def ident(self) -> int | None:
        thread = self._thread
        return thread.ident if thread is not None else None

    def _run(self) -> None:
        while True:
            fn, args, future = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the awaiting step, never lost here
                future.set_exception(exc)


_PARSE = _ParseThread()


# (file, position) -> the open reader that has read exactly up to that position. Only
# a shortcut: the position itself is in the exchange log, and a step that finds no
# reader here (another process, a restart, a retry) parses the file from its start,
# skipping what earlier steps did. Without it a 50,000-product file in steps of 5,000
# is parsed 5.5 times over.
_OPEN: dict[tuple[str, int], _OpenRead] = {}
_OPEN_LOCK = threading.Lock()
_OPEN_MAX = 4
_OPEN_TTL_S = 600.0


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _take_open(path: Path, position: int) -> _OpenRead | None:
    now_s = time.monotonic()
    with _OPEN_LOCK:
        for key in [k for k, v in _OPEN.items() if now_s - v.at > _OPEN_TTL_S]:
            _close(_OPEN.pop(key))
        found = _OPEN.pop((str(path), position), None)
    if found is not None and found.stamp != _stamp(path):  # the file was sent anew
        _close(found)
        return None
    return found


def _close(reader: _OpenRead) -> None:
    """End the parse here and now (libxml2's state freed by this thread, not left to
    the garbage collector), then the file."""
    reader.records.close()
    reader.fh.close()


def _close_made_here() -> None:
    here = threading.get_ident()
    with _OPEN_LOCK:
        for key in [k for k, v in _OPEN.items() if v.thread == here]:
            _close(_OPEN.pop(key))


@atexit.register
def _close_all() -> None:
    """Readers a stopped exchange left open, ended before the interpreter tears down
    (libxml2's state freed by its garbage collector then has crashed the process), each
    on the thread that made it: the parse thread, or this one for a direct caller."""
    _close_made_here()
    with _OPEN_LOCK:
        if not _OPEN:
            return
    try:
        _PARSE.submit(_close_made_here).result(timeout=30)
    except concurrent.futures.TimeoutError:
        log.warning("commerceml readers were not closed within 30 s at exit")


def _keep_open(path: Path, position: int, reader: _OpenRead) -> None:
    reader.at = time.monotonic()
    with _OPEN_LOCK:
        while len(_OPEN) >= _OPEN_MAX:
            _close(_OPEN.pop(next(iter(_OPEN))))
        _OPEN[(str(path), position)] = reader


def read_window(
    path: Path, position: int, step: int, media_url: str
) -> tuple[list[Record | CatalogHeader], int, bool]:
    """The file's classifier records and its products/offers ``position+1 ..
    position+step``: (records, how many items, whether the file ends there)."""
    reader = _take_open(path, position)
    if reader is None:
        fh = path.open("rb")
        reader = _OpenRead(fh, read_catalog(fh, skip=position), [], None, _stamp(path), 0.0)
    items: list[Record | CatalogHeader] = []
    done = True
    try:
        pending, reader.pending = reader.pending, None
        records = reader.records if pending is None else itertools.chain([pending], reader.records)
        for record in records:
            if not isinstance(record, ProductRecord | OfferRecord):
                reader.headers.append(record)
                continue
            if len(items) >= step:
                reader.pending, done = record, False
                break
            image = record.image if isinstance(record, ProductRecord) else None
            if image and not image.startswith(("http://", "https://", "/")):
                record.image = media_url + record.image.replace("\\", "/")
            items.append(record)
    except BaseException:
        _close(reader)
        raise
    if done:
        _close(reader)
    else:
        _keep_open(path, position + len(items), reader)
    return reader.headers + items, len(items), done


def carried_ids(directory: Path) -> set[str] | None:
    """The Ид of every product and offer in the session's catalog files; None when
    there is no readable catalog file left to say what was sent."""
    files = [p for p in directory.rglob("*.xml") if p.name.lower().startswith(CATALOG_PREFIXES)]
    if not files:
        return None
    seen: set[str] = set()
    try:
        for path in files:
            with path.open("rb") as fh:
                seen.update(read_item_ids(fh))
    except (UnsafeXML, etree.XMLSyntaxError, OSError) as exc:
        log.warning("1C deactivate: cannot read %s: %s", directory, exc)
        return None
    return seen


def onec_router(
    sessions: async_sessionmaker[AsyncSession], config: OnecConfig, *, clock: Clock
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    sale = SaleExchange(sessions, config, clock)

    async def authorize(request: Request, session: AsyncSession, mode: str) -> str | None:
        """The session key from a valid cookie (or, at ``checkauth`` and for clients that
        send Basic every time, from the login); None when neither is valid."""
        fingerprint = await password_fingerprint(session)
        if fingerprint is None:
            return None
        cookie = request.cookies.get(COOKIE, "")
        nonce, _, rest = cookie.partition(".")
        issued, _, signature = rest.partition(".")
        if mode != "checkauth" and nonce and issued.isdigit() and signature:
            fresh = clock.now().timestamp() - int(issued) < config.session_ttl_s
            expected = _sign(config, fingerprint, nonce, int(issued))
            if fresh and hmac.compare_digest(signature, expected):
                return nonce
        credentials = _basic(request)
        if credentials and await check_exchange_login(session, *credentials):
            return secrets.token_hex(16) if mode == "checkauth" else "basic"
        return None

    @router.api_route("/exchange/1c", methods=["GET", "POST"])
    async def exchange(request: Request) -> PlainTextResponse:
        params = request.query_params
        kind, mode = params.get("type", "catalog"), params.get("mode", "")
        async with sessions() as session:
            key = await authorize(request, session, mode)
            fingerprint = await password_fingerprint(session)
        if key is None or fingerprint is None:
            return _failure("Неверный логин или пароль", 401, CHALLENGE)
        if mode == "checkauth":
            issued = int(clock.now().timestamp())
            value = f"{key}.{issued}.{_sign(config, fingerprint, key, issued)}"
            return _answer(f"success\n{COOKIE}\n{value}\n")
        directory = session_dir(config, key)
        if mode == "init":
            clear(directory)
            clean_old_sessions(config, now=time.time())
            zip_flag = "yes" if config.zip else "no"
            return _answer(f"zip={zip_flag}\nfile_limit={config.file_limit}\n")
        if kind == "sale":
            return await _sale(request, mode, directory, key, params.get("filename", ""))
        if kind != "catalog":
            return _failure(f"Обмен type={kind} не поддерживается")
        if mode == "file":
            return await _receive(request, directory, params.get("filename", ""))
        if mode == "import":
            return await _import(directory, key, params.get("filename", ""))
        if mode == "deactivate":
            return await _deactivate(directory, key)
        if mode == "complete":
            return _answer("success\n")
        return _failure(f"Неизвестный режим {mode!r}")

    async def _sale(
        request: Request, mode: str, directory: Path, key: str, filename: str
    ) -> Response:
        if mode == "query":
            return await sale.query(key)
        if mode == "success":
            return await sale.success(key)
        if mode == "file":
            data = await request.body()
            if len(data) > config.file_limit:
                return _failure(f"Часть файла больше file_limit={config.file_limit}", 413)
            return await sale.receive(directory, key, filename, data)
        if mode == "import":
            return await sale.apply(directory, key, filename)
        if mode == "complete":
            return _answer("success\n")
        return _failure(f"Неизвестный режим {mode!r}")

    async def _deactivate(directory: Path, key: str) -> PlainTextResponse:
        """After a full catalog (``СодержитТолькоИзменения`` false) 1C asks the site to
        retire what it did not send: products with an Ид that none of this session's
        files carried and this session did not change."""
        async with unit_of_work(sessions, actor=ACTOR, clock=clock) as session:
            since = await full_import_started(session, session_key=key)
        if since is None:
            return _answer("success\n")  # only changes were sent: nothing to retire
        seen = await _PARSE.run(carried_ids, directory)
        async with unit_of_work(sessions, actor=ACTOR, clock=clock) as session:
            counts = {"products_deactivated": 0}
            if seen is None:  # the session's files are gone: retire nothing rather than all
                counts["deactivate_skipped"] = 1
            else:
                counts["products_deactivated"] = await deactivate_missing(
                    session, since=since, seen=seen
                )
            entry = await open_log(
                session,
                peer="1c",
                direction="in",
                type="catalog",
                mode="deactivate",
                session_key=key,
            )
            record_step(
                entry,
                position=counts["products_deactivated"],
                counts=counts,
                errors=[],
                done=True,
                at=clock.now(),
            )
        return _answer("success\n")

    async def _receive(request: Request, directory: Path, filename: str) -> PlainTextResponse:
        data = await request.body()
        if len(data) > config.file_limit:
            return _failure(f"Часть файла больше file_limit={config.file_limit}", 413)
        try:
            append_chunk(directory, filename, data)
        except UnsafePath as exc:
            return _failure(str(exc), 400)
        return _answer("success\n")

    async def _import(directory: Path, key: str, filename: str) -> PlainTextResponse:
        try:
            path = safe_path(directory, filename)
            unpack_zips(directory, config.max_unpacked)
        except UnsafePath as exc:
            return _failure(str(exc), 400)
        except zipfile.BadZipFile:
            return _failure("Архив повреждён или передан не полностью")
        if not path.name.lower().startswith(CATALOG_PREFIXES) or path.suffix.lower() != ".xml":
            return _failure(f"Файл {filename} не относится к каталогу")
        if not path.is_file():
            return _failure(f"Файл {filename} не был передан")
        return await _import_step(path, key, filename)

    async def _import_step(path: Path, key: str, filename: str) -> PlainTextResponse:
        entry_id = None
        fields = {"peer": "1c", "direction": "in", "type": "catalog", "mode": "import"}
        try:
            async with unit_of_work(sessions, actor=ACTOR, clock=clock) as session:
                entry = await open_log(session, **fields, filename=filename, session_key=key)
                entry_id, position = entry.id, entry.position
            if position == 0:
                await asyncio.to_thread(keep_images, path.parent, config.media_dir)
            # Parsed off the loop (a 50,000-product file must not stall it), always on
            # the one parse thread its reader lives on between steps.
            records, count, done = await _PARSE.run(
                read_window, path, position, config.step, MEDIA_URL
            )
            async with unit_of_work(sessions, actor=ACTOR, clock=clock) as session:
                entry = await open_log(session, **fields, filename=filename, session_key=key)
                result = await import_catalog_step(session, records, position=0, step=count + 1)
                record_step(
                    entry,
                    position=position + count,
                    counts=result.counts,
                    errors=result.errors,
                    done=done,
                    at=clock.now(),
                )
        except (UnsafeXML, etree.XMLSyntaxError, DomainError, ValueError, OSError) as exc:
            # The step rolled back whole: what earlier steps committed stays consistent.
            log.warning("1C import of %s failed: %s", filename, exc)
            message = f"{filename}: {getattr(exc, 'message', None) or exc}"
            async with unit_of_work(sessions, actor=ACTOR, clock=clock) as session:
                await log_failure(
                    session,
                    entry_id=entry_id,
                    message=message,
                    filename=filename,
                    session_key=key,
                    **fields,
                )
            return _failure(message)
        return _answer("success\n" if done else f"progress\n{position + count}\n")

    @router.get("/exchange/media/{name:path}")
    async def media(name: str) -> Response:
        """Product images 1C sent (``Картинка``), served to the API and the office."""
        try:
            path = safe_path(config.media_dir, name)
        except UnsafePath:
            return Response(status_code=404)
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            return Response(status_code=404)
        return FileResponse(path, headers=MEDIA_HEADERS)

    return router
