"""Outgoing mail as bytes, built directly: the standard library's ``EmailMessage``
parses and re-folds every header through its header registry, which costs about ten
times the rest of a campaign send; a campaign writes the same simple shape 100,000
times. The shape: text and HTML as ``multipart/alternative`` (base64, UTF-8),
wrapped in ``multipart/mixed`` when there are attachments; non-ASCII headers as
RFC 2047 encoded words; CRLF line ends throughout (what SMTP and DKIM want)."""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Iterable
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, getaddresses
from functools import lru_cache

CRLF = "\r\n"
# A bare address of dot-separated atoms (RFC 5322 dot-atom@dot-atom): written as it
# is, which is what parsing and re-formatting it would give, without the parse.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_BARE_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_WORD = "=?utf-8?b?{}?="
_WORD_CHROME = len(_WORD) - 2
_LINE = 76  # RFC 2047: an encoded word ≤ 75 characters, a line of them ≤ 76


def _clean(value: str) -> str:
    # A header value never carries a line break (header injection).
    return " ".join(str(value).replace("\r", " ").replace("\n", " ").split())


def _encoded_words(value: str, room: int) -> list[str]:
    """``value`` as base64 encoded words of whole characters, the first fitting in
    ``room`` characters and the rest in a folded line each (RFC 2047)."""
    limit = (room - _WORD_CHROME) // 4 * 3  # bytes whose base64 fits the room
    encoded = value.encode("utf-8")
    if len(encoded) <= limit:  # the usual short subject: one word
        return [_WORD.format(base64.b64encode(encoded).decode())]
    words: list[str] = []
    chunk, size = [], 0
    for char in value:
        n = len(char.encode("utf-8"))
        if chunk and size + n > limit:
            words.append(_WORD.format(base64.b64encode("".join(chunk).encode()).decode()))
            chunk, size = [], 0
            limit = (_LINE - 1 - _WORD_CHROME) // 4 * 3
        chunk.append(char)
        size += n
    words.append(_WORD.format(base64.b64encode("".join(chunk).encode()).decode()))
    return words


def header(name: str, value: str) -> str:
    """One header line; a value that is not ASCII (or too long) as RFC 2047 encoded
    words, folded, decoding to the same text as the email package's encoding."""
    value = _clean(value)
    if value.isascii() and len(name) + len(value) < 900:
        return f"{name}: {value}"
    if value.isascii():  # a very long ASCII value: folded at its spaces
        return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=CRLF)}"
    return f"{name}: " + f"{CRLF} ".join(_encoded_words(value, _LINE - len(name) - 2))


@lru_cache(maxsize=256)
def _formatted_addresses(value: str) -> str:
    parts = [formataddr(pair, charset="utf-8") for pair in getaddresses([value])]
    return ", ".join(p for p in parts if p)


def is_bare_address(value: str) -> bool:
    """A plain ``local@domain`` of dot-atoms: what parsing it would give back as is."""
    return _BARE_ADDRESS.fullmatch(value) is not None


def address_header(name: str, value: str) -> str:
    """``Name <addr>`` with the display name encoded when it is not ASCII."""
    value = _clean(value)
    if _BARE_ADDRESS.fullmatch(value):
        return f"{name}: {value}"
    return f"{name}: {_formatted_addresses(value)}"


@lru_cache(maxsize=4)
def _date(seconds: int, tzinfo) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, tzinfo))


def date_header(at) -> str:
    """``Date:`` (to the second, formatted once per second: a campaign sends many)."""
    if at.tzinfo is None:
        return f"Date: {format_datetime(at)}"
    return f"Date: {_date(int(at.timestamp()), at.tzinfo)}"


def _base64(data: bytes) -> str:
    # What base64.encodebytes gives (lines of 76), with CRLF line ends.
    if not data:
        return ""
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    return CRLF.join(lines) + CRLF


def _text_part(text: str, subtype: str) -> str:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}" + _base64(text.encode("utf-8"))
    )


def _multipart(subtype: str, parts: Iterable[str]) -> str:
    # Every part is base64, whose alphabet has no "_", so no part can hold the
    # boundary: it needs to differ between the nested multiparts, not to be secret.
    # (os.urandom, through secrets, was 3 % of a campaign's CPU; email.generator
    # draws its boundaries from random too.)
    boundary = f"=_firma_{random.getrandbits(96):024x}"
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}'
        f"{body}--{boundary}--{CRLF}"
    )


def _attachment(filename: str, content: bytes, mime_type: str) -> str:
    name = Header(filename, "utf-8").encode() if not filename.isascii() else filename
    return (
        f'Content-Type: {mime_type}; name="{name}"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}"
        f'Content-Disposition: attachment; filename="{name}"{CRLF}{CRLF}' + _base64(content)
    )


def render_mime(
    headers: list[str],
    *,
    text: str,
    html: str | None,
    attachments: Iterable[tuple[str, bytes, str]] = (),
) -> bytes:
    """The whole message: ``headers`` (already formatted lines), then the body."""
    body = _text_part(text, "plain")
    if html is not None:
        body = _multipart("alternative", [body, _text_part(html, "html")])
    files = [_attachment(*item) for item in attachments]
    if files:
        body = _multipart("mixed", [body, *files])
    return (CRLF.join([*headers, "MIME-Version: 1.0"]) + CRLF + body).encode("ascii")
