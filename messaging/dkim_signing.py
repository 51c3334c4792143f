"""DKIM signatures (RFC 6376: rsa-sha256, relaxed header / simple body
canonicalisation) made with OpenSSL through ``cryptography``.

dkimpy, which verifies them in the tests, signs with Python's own ``pow`` and parses
the PEM key again for every message: about 30 ms a message on the shared machine,
which capped a signed campaign at a few dozen messages a second. The key is loaded
once here and the RSA step is OpenSSL's (0.5 ms).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from messaging.config import DkimConfig

# Signed when present: what a receiver shows or uses to thread and unsubscribe.
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
_WSP = re.compile(rb"[ \t]+")
_CRLF = b"\r\n"


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header block as (name, raw value with its folding) in order."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(_CRLF):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + _CRLF + line)
        elif line:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields


def _relaxed(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value, runs of blanks as one space."""
    value = _WSP.sub(b" ", value.replace(_CRLF, b"")).strip(b" ")
    return name.strip().lower() + b":" + value


def _simple_body(body: bytes) -> bytes:
    """RFC 6376 3.4.3: trailing empty lines dropped, one CRLF at the end."""
    while body.endswith(_CRLF + _CRLF):
        body = body[:-2]
    return body if body.endswith(_CRLF) else body + _CRLF


def _folded(b64: bytes, width: int = 72) -> bytes:
    # Folding whitespace inside b= is allowed and ignored by verifiers (RFC 6376 3.5).
    return (_CRLF + b" ").join(b64[i : i + width] for i in range(0, len(b64), width))


class DkimSigner:
    """Signs whole messages with the firm's key (rsa-sha256, relaxed/simple)."""

    def __init__(self, config: DkimConfig) -> None:
        self.config = config
        with open(config.private_key_path, "rb") as fp:
            self.key = fp.read()
        loaded = serialization.load_pem_private_key(self.key, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):  # dkimpy's signing took only RSA too
            raise ValueError(f"{config.private_key_path}: the DKIM key must be an RSA key")
        self._rsa = loaded
        self._tags = b"v=1; a=rsa-sha256; c=relaxed/simple; d=%s; s=%s" % (
            config.domain.encode(),
            config.selector.encode(),
        )

    def sign(self, raw: bytes, *, at: float | None = None) -> bytes:
        """``raw`` with a ``DKIM-Signature`` header in front (CRLF line ends)."""
        head, _, body = raw.partition(_CRLF + _CRLF)
        fields = _fields(head)
        present = {name.strip().lower() for name, _value in fields}
        names = [h for h in DKIM_HEADERS if h in present]
        # Each name signs its last occurrence (RFC 6376 5.4.2); ours occur once.
        last = {name.strip().lower(): (name, value) for name, value in fields}
        body_hash = base64.b64encode(hashlib.sha256(_simple_body(body)).digest())
        stamp = int(time.time() if at is None else at)
        value = b" %s; t=%d;%s h=%s;%s bh=%s;%s b=" % (
            self._tags,
            stamp,
            _CRLF,
            b" : ".join(names),
            _CRLF,
            body_hash,
            _CRLF,
        )
        signed = b"".join(_relaxed(*last[name]) + _CRLF for name in names)
        # The signature's own header last, with b= empty and no line end (3.7).
        signed += _relaxed(b"DKIM-Signature", value)
        signature = self._rsa.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        b64 = _folded(base64.b64encode(signature))
        return b"DKIM-Signature:" + value + b64 + _CRLF + raw
