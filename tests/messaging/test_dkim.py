"""DKIM signatures made with OpenSSL verify with dkimpy, whatever the letter holds;
any change to a signed header or to the body breaks them."""

from __future__ import annotations

import base64
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from messaging.config import DkimConfig
from messaging.dkim_signing import DkimSigner
from messaging.email import OutgoingEmail, render_email


@pytest.fixture(scope="module")
def signer_and_dns(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"news._domainkey.firma.example."
        return record

    return DkimSigner(DkimConfig("news", "firma.example", str(path))), dns


def _letter(subject: str, text: str, html: str | None) -> bytes:
    raw, _mid = render_email(
        OutgoingEmail(
            to="client1@example.com",
            subject=subject,
            text=text,
            html=html,
            message_id="<campaign-1.1.abc@firma.example>",
            headers={
                "List-Unsubscribe": "<https://crm.firma.example/unsubscribe/1.email.1.x>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        ),
        mail_from="ООО «Ромашка» <shop@firma.example>",
        reply_to="manager@firma.example",
    )
    return raw


@pytest.mark.parametrize(
    ("subject", "text", "html"),
    [
        ("Hi", "x", None),
        ("Иван, " + " ".join(["скидки до 30 % на мебель и свет"] * 4), "Текст\n", "<p>я</p>"),
        ("Пусто", "", ""),
        ("Строки в конце", "abc\r\n\r\n\r\n", "<p>x</p>\n\n"),
    ],
)
def test_signed_letters_verify_and_any_change_breaks_them(signer_and_dns, subject, text, html):
    signer, dns = signer_and_dns
    signed = signer.sign(_letter(subject, text, html))
    assert dkim.verify(signed, dnsfunc=dns)
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    assert "a=rsa-sha256" in header and "c=relaxed/simple" in header
    signed_names = {n.strip() for n in re.search(r"h=([^;]+);", header).group(1).split(":")}
    assert signed_names == {
        "from", "to", "subject", "date", "message-id", "reply-to", "mime-version",
        "content-type", "list-unsubscribe", "list-unsubscribe-post",
    }  # fmt: skip
    body_changed = signed[:-2] + b"AA\r\n"
    assert not dkim.verify(body_changed, dnsfunc=dns)
    to_changed = signed.replace(b"To: client1@", b"To: client2@", 1)
    assert not dkim.verify(to_changed, dnsfunc=dns)
