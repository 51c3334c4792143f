"""The transport over TLS (port 465's way) and STARTTLS, pipelined and not, with the
server's certificate verified against a private authority (``FIRMA_SMTP_CA_FILE``);
and what a failure to connect answers: a person's job (a refused login, a certificate
that does not verify, no STARTTLS where it was set up) is fatal, a server that does
not answer is an outage — neither is the recipient's fault, so neither fails the row."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from firma.settings import Settings
from messaging.config import MessagingConfig, SmtpConfig
from messaging.email import OutgoingEmail, SmtpTransport
from tests.messaging.conftest import Sink
from tests.messaging.smtp_server import SmtpServer
from tests.messaging.tls import Certificates, make_certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def _mail(to: str) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Счёт", text="Текст", html="<p>Текст</p>")


def _config(port: int, security: str, ca_file: str | None, **smtp) -> MessagingConfig:
    return MessagingConfig(
        mail_from="ООО Ромашка <sales@romashka.example>",
        smtp=SmtpConfig(
            host="127.0.0.1", port=port, security=security, ca_file=ca_file, timeout=5, **smtp
        ),
    )


async def _send(config: MessagingConfig, recipients: list[str]) -> list:
    transport = SmtpTransport(config)
    try:
        return list(await asyncio.gather(*(transport.send(_mail(to)) for to in recipients)))
    finally:
        await transport.close()


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_mail_goes_encrypted(certificates, security, pipelining) -> None:
    context = certificates.server_context()
    server = SmtpServer(
        pipelining=pipelining,
        tls=context if security == "tls" else None,
        starttls=context if security == "starttls" else None,
    )
    await server.start()
    try:
        recipients = [f"c{i}@x.example" for i in range(6)]
        config = _config(server.port, security, certificates.ca_file, pool_size=2)
        results = await _send(config, recipients)
    finally:
        await server.stop()
    assert [r.detail for r in results] == ["2.0.0 Queued"] * 6
    assert sorted(d.recipients[0] for d in server.delivered) == recipients
    assert all(d.secure for d in server.delivered)
    assert server.delivered[0].message["Subject"] == "Счёт"
    groups = server.groups()
    if pipelining:  # the envelope in one read, over TLS too
        assert ["MAIL", "RCPT", "DATA"] in groups
    else:
        assert all(len(kinds) == 1 or kinds == ["body", "."] for kinds in groups)


async def test_plain_connection_to_a_server_requiring_starttls_is_refused_for_good(
    certificates,
) -> None:
    """Set up without TLS where the server demands it: the 530 is not the
    recipient's fault; the message is not failed as if the address were bad."""
    server = await SmtpServer(starttls=certificates.server_context()).start()
    try:
        [result] = await _send(_config(server.port, "none", None), ["c@x.example"])
    finally:
        await server.stop()
    assert not result.ok and result.permanent and not result.bad_address
    assert "530" in result.detail and server.delivered == []


async def test_a_certificate_from_an_unknown_authority_is_fatal(certificates) -> None:
    server = await SmtpServer(tls=certificates.server_context()).start()
    try:
        [result] = await _send(_config(server.port, "tls", None), ["c@x.example"])
    finally:
        await server.stop()
    assert not result.ok and result.fatal and not result.outage
    assert "certificate" in result.detail and "unable to get local issuer" in result.detail
    assert server.delivered == []


async def test_starttls_missing_on_the_server_is_fatal(certificates) -> None:
    server = await SmtpServer().start()  # no STARTTLS advertised
    try:
        [result] = await _send(_config(server.port, "starttls", certificates.ca_file), ["c@x"])
    finally:
        await server.stop()
    assert not result.ok and result.fatal
    assert "STARTTLS" in result.detail and server.delivered == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_nobody_listening_is_an_outage() -> None:
    [result] = await _send(_config(_closed_port(), "none", None), ["c@x.example"])
    assert not result.ok and result.outage
    assert not result.fatal and not result.permanent and not result.bad_address
    assert result.detail.startswith("SMTP server unavailable")


async def test_the_pool_shrinks_to_the_connections_the_server_takes() -> None:
    """A relay allowing one connection greets the pool's others with 421: their
    messages go over the one that works, none fails."""
    server = await SmtpServer(max_connections=1).start()
    try:
        recipients = [f"c{i}@x.example" for i in range(20)]
        results = await _send(_config(server.port, "none", None, pool_size=4), recipients)
    finally:
        await server.stop()
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok]
    assert sorted(d.recipients[0] for d in server.delivered) == sorted(recipients)
    assert server.connections >= 2  # the pool did try to grow


class _Login:
    def __init__(self) -> None:
        self.attempts: list[tuple[bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.attempts.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"shop", "пароль".encode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def aiosmtpd_starttls(certificates):
    """aiosmtpd itself: STARTTLS required, a login required (over TLS only)."""
    sink, login = Sink(), _Login()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificates.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=login,
    )
    controller.start()
    try:
        yield sink, login, port
    finally:
        controller.stop()


async def test_aiosmtpd_with_starttls_and_a_login(certificates, aiosmtpd_starttls) -> None:
    sink, login, port = aiosmtpd_starttls
    config = _config(
        port, "starttls", certificates.ca_file, username="shop", password="пароль", pool_size=2
    )
    results = await _send(config, ["a@x.example", "b@x.example", "c@x.example"])
    assert all(r.ok for r in results), [r.detail for r in results]
    delivered = sorted(to for _f, [to] in sink.envelopes)
    assert delivered == ["a@x.example", "b@x.example", "c@x.example"]
    assert login.attempts and all(a == (b"shop", "пароль".encode()) for a in login.attempts)


async def test_a_refused_login_is_fatal(certificates, aiosmtpd_starttls) -> None:
    sink, login, port = aiosmtpd_starttls
    config = _config(port, "starttls", certificates.ca_file, username="shop", password="wrong")
    [result] = await _send(config, ["a@x.example"])
    assert not result.ok and result.fatal and not result.bad_address
    assert "535" in result.detail and sink.envelopes == []
    # aiosmtplib tries each mechanism the server offers, once: no retry loop.
    assert set(login.attempts) == {(b"shop", b"wrong")} and len(login.attempts) <= 3


def test_settings_refuse_a_ca_file_that_cannot_be_read(tmp_path, certificates) -> None:
    settings = Settings(
        smtp_host="smtp.example", smtp_security="tls", smtp_ca_file=certificates.ca_file
    )
    assert settings.messaging().smtp.ca_file == certificates.ca_file
    (tmp_path / "junk.pem").write_text("not a certificate")
    for path in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
        with pytest.raises(ValueError, match="cannot read certificates"):
            Settings(smtp_host="smtp.example", smtp_ca_file=str(path))
