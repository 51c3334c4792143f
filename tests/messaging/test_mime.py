"""The hand-built MIME (messaging/mime.py) reads back as the same message the
standard library's ``EmailMessage`` makes: same headers once decoded, same parts."""

from __future__ import annotations

import base64
import email
import email.policy
import random
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from messaging.email import OutgoingEmail, render_email
from messaging.mime import _base64, _formatted_addresses, address_header, date_header

SUBJECTS = [
    "Spring sale",
    "Покупатель 12345, скидки",
    "Иван Петрович, " + " ".join(["распродажа мебели и света со скидками до 30 %"] * 3),
    "Скидки 🎉 до 30 % — «Уютный дом»",
    " ".join(["𝔘𝔫𝔦𝔠𝔬𝔡𝔢"] * 20),
    "a" * 40 + "я" * 40,
]
SENDERS = ["Firma <shop@firma.example>", "ООО «Ромашка» <sales@romashka.example>"]
RECIPIENTS = ["client1@example.com", "Иван Петров <ivan@example.com>", '"Doe, J." <j@x.example>']


def _ours(subject: str, sender: str, to: str, at: datetime) -> email.message.EmailMessage:
    raw, _mid = render_email(
        OutgoingEmail(
            to=to,
            subject=subject,
            text="Здравствуйте!\nОтписаться: https://crm.example/u/1",
            html="<p>Здравствуйте!</p>",
            message_id="<m1@firma.example>",
            headers={"List-Unsubscribe": "<https://crm.example/u/1>"},
        ),
        mail_from=sender,
        reply_to="manager@firma.example",
        at=at,
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):  # the subject's encoded words fold to lines of ≤ 76
        if line.startswith((b"Subject:", b" =?")):
            assert len(line) <= 76, line
    return email.message_from_bytes(raw, policy=email.policy.default)


def _stdlib(subject: str, sender: str, to: str, at: datetime) -> email.message.EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Reply-To"] = sender, to, "manager@firma.example"
    message["Subject"], message["Date"] = subject, format_datetime(at)
    message["Message-ID"] = "<m1@firma.example>"
    message["List-Unsubscribe"] = "<https://crm.example/u/1>"
    message.set_content("Здравствуйте!\nОтписаться: https://crm.example/u/1")
    message.add_alternative("<p>Здравствуйте!</p>", subtype="html")
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("to", RECIPIENTS)
def test_a_letter_reads_back_as_the_email_packages_own(subject, sender, to) -> None:
    at = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
    ours, theirs = _ours(subject, sender, to, at), _stdlib(subject, sender, to, at)
    for name in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
        assert str(ours[name]) == str(theirs[name]), name
    assert ours.get_content_type() == theirs.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        mine, stdlib = ours.get_body((kind,)), theirs.get_body((kind,))
        # set_content ends a text with a line break; the campaign's bytes keep it as is
        assert mine.get_content() == stdlib.get_content().removesuffix("\n")
        assert mine.get_content_charset() == stdlib.get_content_charset() == "utf-8"


def test_base64_lines_are_the_standard_librarys() -> None:
    rng = random.Random(7)
    for size in (0, 1, 56, 57, 58, 114, 1000, 4321):
        data = rng.randbytes(size)
        assert _base64(data) == base64.encodebytes(data).decode().replace("\n", "\r\n")


def test_a_bare_address_is_written_as_the_full_parse_would() -> None:
    for value in ("client1@example.com", "a.b+c@mail.example.org", "x_y-z@host", "A@B.C"):
        assert address_header("To", value) == f"To: {_formatted_addresses(value)}"


def test_the_date_is_the_standard_format_in_its_own_zone() -> None:
    moscow = timezone(timedelta(hours=3))
    for at in (
        datetime(2026, 12, 3, 9, 30, 15, 999999, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, tzinfo=moscow),
        datetime(2026, 3, 8, 12, 0, 1, 500000),
    ):
        assert date_header(at) == f"Date: {format_datetime(at.replace(microsecond=0))}"
