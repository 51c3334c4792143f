"""A fake 1C: drives ``/exchange/1c`` exactly as 1C's "обмен с сайтом" does."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx

URL = "/exchange/1c"


class FakeOneC:
    def __init__(self, client: httpx.AsyncClient, login: str, password: str) -> None:
        self.client = client
        self.auth = httpx.BasicAuth(login, password)
        self.cookies: dict[str, str] = {}
        self.file_limit = 0
        self.zip = False

    async def call(self, mode: str, *, method: str = "GET", content: bytes | None = None, **params):
        query = {"type": "catalog", "mode": mode, **params}
        # 1C sends Basic auth at checkauth only; afterwards just the cookie.
        auth = self.auth if mode == "checkauth" else None
        return await self.client.request(
            method, URL, params=query, content=content, auth=auth, headers=self._cookie()
        )

    def _cookie(self) -> dict[str, str]:
        # The cookie goes as 1C sends it, a header, not kept in the client's jar.
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    async def checkauth(self) -> httpx.Response:
        response = await self.call("checkauth")
        lines = response.text.split("\n")
        if lines[0] == "success":
            self.cookies = {lines[1]: lines[2]}
        return response

    async def init(self) -> None:
        response = await self.call("init")
        answer = dict(line.split("=", 1) for line in response.text.split("\n") if "=" in line)
        self.zip = answer["zip"] == "yes"
        self.file_limit = int(answer["file_limit"])

    async def upload(self, name: str, data: bytes) -> None:
        for start in range(0, max(len(data), 1), self.file_limit):
            chunk = data[start : start + self.file_limit]
            response = await self.call("file", method="POST", content=chunk, filename=name)
            assert response.text.startswith("success"), response.text

    async def send(self, files: dict[str, bytes], *, zipped: bool = False) -> list[str]:
        """A whole catalog exchange; returns the answers of the import calls."""
        assert (await self.checkauth()).text.startswith("success")
        await self.init()
        if zipped and self.zip:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in files.items():
                    zf.writestr(name, data)
            await self.upload("catalog.zip", buffer.getvalue())
        else:
            for name, data in files.items():
                await self.upload(name, data)
        answers = []
        for name in files:
            for _ in range(1000):
                answer = (await self.call("import", filename=name)).text
                answers.append(answer)
                if not answer.startswith("progress"):
                    break
        return answers


FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "commerceml"


def fixture(name: str) -> bytes:
    """The real export's bytes (read only: the fixtures are shared)."""
    return (FIXTURES / name).read_bytes()
