"""The client side of the CommerceML 2 exchange, as 1C plays it against a site
(1C-Bitrix ``/bitrix/admin/1c_exchange.php``, UMI, InSales, HostCMS, CS-Cart...).

``checkauth`` with Basic auth → ``success\\n<cookie name>\\n<value>[\\nsessid=…]``;
``init`` → ``zip=yes|no\\nfile_limit=<bytes>``; ``file`` uploads in chunks of at most
``file_limit`` (one zip archive when the site takes zip); ``import`` repeated while
the site answers ``progress``; ``failure\\n<reason>`` anywhere stops the exchange
with the site's reason. Every request carries the session cookie (and Bitrix's
``sessid`` when given).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx


class StoreError(Exception):
    """The exchange with a store stopped; the message says why, for the run log."""


class StoreAuthError(StoreError):
    pass


@dataclass(frozen=True)
class ClientLimits:
    timeout_s: float = 60.0
    max_import_calls: int = 500  # a store that never says success is given up on
    default_file_limit: int = 1024 * 1024
    max_response: int = 200 * 1024 * 1024


def _lines(response: httpx.Response) -> list[str]:
    text = response.content.decode(response.encoding or "utf-8", errors="replace")
    return [line.strip() for line in text.lstrip("\ufeff").splitlines()]


class CommerceMLClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        login: str,
        password: str,
        *,
        limits: ClientLimits | None = None,
    ) -> None:
        self.http, self.url = http, url
        self.auth = httpx.BasicAuth(login, password)
        self.limits = limits or ClientLimits()
        self.cookie: str | None = None
        self.sessid: str | None = None
        self.zip = False
        self.file_limit = self.limits.default_file_limit
        self.sent_bytes = 0

    async def _call(
        self, kind: str, mode: str, *, content: bytes | None = None, **extra: str
    ) -> httpx.Response:
        params = {"type": kind, "mode": mode, **extra}
        if self.sessid:
            params["sessid"] = self.sessid
        headers = {"Cookie": self.cookie} if self.cookie else {}
        auth = self.auth if mode == "checkauth" or self.cookie is None else None
        method = "POST" if content is not None else "GET"
        try:
            response = await self.http.request(
                method, self.url, params=params, content=content, headers=headers, auth=auth
            )
        except httpx.TimeoutException as exc:
            raise StoreError(f"{mode}: the store did not answer in time ({exc!r})") from exc
        except httpx.TransportError as exc:
            raise StoreError(f"{mode}: connection to the store failed ({exc!r})") from exc
        if response.status_code in (401, 403):
            raise StoreAuthError(
                f"{mode}: the store refused the login (HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            raise StoreError(f"{mode}: the store answered HTTP {response.status_code}")
        if len(response.content) > self.limits.max_response:
            raise StoreError(f"{mode}: the store's answer is too large")
        return response

    @staticmethod
    def _failure(mode: str, lines: Sequence[str]) -> StoreError:
        reason = " ".join(x for x in lines[1:] if x)[:500] or "no reason given"
        return StoreError(f"{mode}: the store answered failure: {reason}")

    async def checkauth(self, kind: str = "catalog") -> None:
        lines = _lines(await self._call(kind, "checkauth"))
        if not lines or lines[0] != "success":
            if lines and lines[0] == "failure":
                reason = " ".join(x for x in lines[1:] if x)[:500] or "no reason given"
                raise StoreAuthError(f"checkauth: the store refused the login: {reason}")
            raise StoreAuthError(f"checkauth: unexpected answer {lines[:1]!r}")
        if len(lines) < 3 or not lines[1]:
            raise StoreError("checkauth: the store sent no session cookie")
        self.cookie = f"{lines[1]}={lines[2]}"
        for line in lines[3:]:
            if line.startswith("sessid="):
                self.sessid = line.split("=", 1)[1]

    async def init(self, kind: str) -> None:
        lines = _lines(await self._call(kind, "init"))
        if lines and lines[0] == "failure":
            raise self._failure("init", lines)
        values = dict(line.split("=", 1) for line in lines if "=" in line)
        self.zip = values.get("zip", "no").strip().lower() == "yes"
        try:
            limit = int(values.get("file_limit", "0"))
        except ValueError:
            limit = 0
        # A store that names no (or an absurd) limit gets modest chunks.
        self.file_limit = limit if 1024 <= limit <= 1024**3 else self.limits.default_file_limit
        if values.get("sessid"):
            self.sessid = values["sessid"]

    async def upload(self, kind: str, filename: str, data: bytes) -> None:
        """A file in chunks of at most ``file_limit`` (an empty file as one request)."""
        for start in range(0, max(len(data), 1), self.file_limit):
            chunk = data[start : start + self.file_limit]
            lines = _lines(await self._call(kind, "file", content=chunk, filename=filename))
            if not lines or lines[0] != "success":
                raise self._failure(f"file {filename}", lines)
            self.sent_bytes += len(chunk)

    async def upload_file(self, kind: str, filename: str, path: Path) -> None:
        """A file from disk, read one chunk at a time (a 50 MB catalog is never in
        memory whole)."""
        with path.open("rb") as fh:
            first = True
            while True:
                chunk = fh.read(self.file_limit)
                if not chunk and not first:
                    return
                await self.upload(kind, filename, chunk)
                first = False
                if len(chunk) < self.file_limit:
                    return

    async def upload_files(self, kind: str, files: dict[str, Path]) -> None:
        """The files as one zip archive when the store takes zip, else one by one."""
        if self.zip:
            archive_path = next(iter(files.values())).with_name(f"{kind}.zip")
            with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, path in files.items():
                    archive.write(path, name)
            await self.upload_file(kind, archive_path.name, archive_path)
        else:
            for name, path in files.items():
                await self.upload_file(kind, name, path)

    async def import_file(self, kind: str, filename: str) -> int:
        """``import`` until ``success``; returns how many calls it took."""
        for calls in range(1, self.limits.max_import_calls + 1):
            lines = _lines(await self._call(kind, "import", filename=filename))
            head = lines[0] if lines else ""
            if head == "success":
                return calls
            if head == "progress":
                continue
            if head == "failure":
                raise self._failure(f"import {filename}", lines)
            raise StoreError(f"import {filename}: unexpected answer {head[:100]!r}")
        raise StoreError(
            f"import {filename}: the store still answered progress after "
            f"{self.limits.max_import_calls} calls; given up"
        )

    async def query(self) -> bytes:
        """``type=sale&mode=query``: the store's orders as CommerceML."""
        response = await self._call("sale", "query")
        body = response.content
        if body[:7] == b"failure":
            raise self._failure("query", _lines(response))
        return body

    async def success(self) -> None:
        lines = _lines(await self._call("sale", "success"))
        if lines and lines[0] == "failure":
            raise self._failure("success", lines)
