"""The SMTP transport's own transaction (MAIL, RCPT, DATA) over a real server: the
server's answers per recipient, and an address no SMTP command can carry."""

from __future__ import annotations

from messaging.email import OutgoingEmail, SmtpTransport


def _mail(to: str) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Тема", text="Текст", html="<p>Текст</p>")


async def test_answers_per_recipient_and_the_connection_goes_on(smtp_sink, mail_config) -> None:
    sink, _port = smtp_sink
    transport = SmtpTransport(mail_config)
    try:
        results = [
            await transport.send(_mail(to))
            for to in ("ok1@x.example", "a b@x.example", "bad@x.example", "busy@x.example")
        ]
        results.append(await transport.send(_mail("ok2@x.example")))
    finally:
        await transport.close()
    ok1, unsendable, bad, busy, ok2 = results
    assert ok1.ok and ok2.ok and "accepted" in ok2.detail
    assert not unsendable.ok and unsendable.permanent and unsendable.bad_address
    assert "invalid address" in unsendable.detail
    assert not bad.ok and bad.permanent and bad.bad_address and bad.detail.startswith("550")
    assert not busy.ok and not busy.permanent and busy.detail.startswith("451")
    # Every refusal reset the envelope: the next letters went out on the same connection.
    assert [rcpts for _sender, rcpts in sink.envelopes] == [["ok1@x.example"], ["ok2@x.example"]]
    assert {sender for sender, _rcpts in sink.envelopes} == {"sales@romashka.example"}
