"""SMS: segment counting, and the providers behind one small interface.

- ``log``: development, nothing leaves (kept in ``sent`` for tests).
- ``smsru``: SMS.ru's HTTP API (``POST {api}/sms/send`` with ``api_id``, ``to``,
  ``msg``, ``json=1``). Its JSON answer has a request-level ``status``/``status_code``
  (100 = accepted; 200/300/301 bad key, 201 no money, 220 service down) and one entry
  per number under ``sms`` (100 with ``sms_id``, or an error code and ``status_text``).
- ``smsc``: SMSC.ru's HTTP API (``POST {api}/sys/send.php`` with ``apikey`` or
  ``login``/``psw``, ``phones``, ``mes``, ``fmt=3``, ``charset=utf-8``). Its JSON answer
  is ``{"id", "cnt"}`` when accepted, else ``{"error", "error_code"}``: 2 bad login or
  key, 3 no money, 6 text or sender forbidden, 7/8 a number it cannot reach, 4 the IP
  blocked for a while, 9 the same request again within a minute.

Each answer becomes a ``SendResult``: an invalid or barred number is a permanent
failure that marks the number bad; no money or a wrong key is *fatal* (the campaign
pauses, the row waits); a busy service or a per-number rate limit is transient.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from messaging.config import SmsConfig
from messaging.outcome import SendResult

log = logging.getLogger(__name__)

# GSM 03.38: the basic set (1 septet each) and the extension set (escape + char: 2).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # SMS parts the operator bills

    @property
    def per_part(self) -> int:
        single, multi = (160, 153) if self.encoding == "GSM-7" else (70, 67)
        return single if self.count <= 1 else multi


def count_segments(text: str) -> Segments:
    """How many SMS a text takes: GSM-7 160 / 153 per part of a long message; anything
    outside GSM-7 (Cyrillic) makes the whole text UCS-2: 70 / 67."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, count)


@dataclass(frozen=True)
class Report:
    """A delivery report: ``delivered``, ``undelivered`` (final), or ``pending``."""

    state: str
    detail: str


REPORT_CHUNK = 100  # messages asked about in one status request


class SmsProvider(Protocol):
    name: str

    async def send(self, phone: str, text: str) -> SendResult: ...

    async def statuses(self, messages: list[tuple[str, str]]) -> dict[str, Report]:
        """Reports for (message id, phone) pairs, by message id; a message the
        provider gave no answer for is left out (asked again later)."""

    async def close(self) -> None: ...


@dataclass
class LogSmsProvider:
    """Writes messages to the log and keeps them in ``sent``."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    name: str = "log"

    async def send(self, phone: str, text: str) -> SendResult:
        self.sent.append((phone, text))
        parts = count_segments(text).count
        log.info("sms (log provider) to %s, %d part(s): %s", phone, parts, text)
        return SendResult(True, f"log-{len(self.sent)}", f"logged, {parts} part(s)")

    async def statuses(self, messages: list[tuple[str, str]]) -> dict[str, Report]:
        return {message_id: Report("delivered", "logged") for message_id, _phone in messages}

    async def close(self) -> None:
        return None


# SMS.ru answer codes (https://sms.ru/api/send), grouped by what Firma does with them.
SMSRU_FATAL = {200, 201, 204, 206, 210, 211, 212, 300, 301, 302}
SMSRU_BAD_NUMBER = {202, 207, 209}
SMSRU_TRANSIENT = {220, 230, 231, 232}


# SMS.ru delivery report codes (https://sms.ru/api/status): 100-102 on the way.
SMSRU_DELIVERED = {103, 110}  # delivered; read (Viber)
SMSRU_UNDELIVERED = {
    104,
    105,
    106,
    107,
    108,
    150,
}  # expired, deleted, phone, unknown, rejected, no route


class SmsRuProvider:
    """SMS.ru over HTTPS with one reused connection pool."""

    DEFAULT_URL = "https://sms.ru"
    name = "smsru"

    def __init__(self, config: SmsConfig) -> None:
        if not config.api_key:
            raise ValueError("FIRMA_SMS_API_KEY is needed for the smsru provider")
        self.config = config
        base = (config.api_url or self.DEFAULT_URL).rstrip("/")
        self.url, self.status_url = base + "/sms/send", base + "/sms/status"
        self.http = httpx.AsyncClient(timeout=config.timeout)

    async def send(self, phone: str, text: str) -> SendResult:
        number = phone.lstrip("+")
        form = {"api_id": self.config.api_key, "to": number, "msg": text, "json": "1"}
        if self.config.sender:
            form["from"] = self.config.sender
        answer = await _post(self.http, self.url, form)
        return answer if isinstance(answer, SendResult) else self._result(answer, number)

    async def statuses(self, messages: list[tuple[str, str]]) -> dict[str, Report]:
        reports: dict[str, Report] = {}
        for chunk in _chunks(messages):
            ids = ",".join(message_id for message_id, _phone in chunk)
            form = {"api_id": self.config.api_key, "sms_id": ids, "json": "1"}
            answer = await _post(self.http, self.status_url, form)
            if isinstance(answer, SendResult) or answer.get("status") != "OK":
                log.warning("SMS.ru status request failed: %s", _what(answer))
                continue
            for message_id, entry in (answer.get("sms") or {}).items():
                if not isinstance(entry, dict):
                    continue
                code = _int(entry.get("status_code"))
                detail = f"SMS.ru {code}: {entry.get('status_text') or ''}".strip()
                state = (
                    "delivered"
                    if code in SMSRU_DELIVERED
                    else "undelivered"
                    if code in SMSRU_UNDELIVERED
                    else "pending"
                )
                reports[str(message_id)] = Report(state, detail)
        return reports

    @staticmethod
    def _result(answer: dict, number: str) -> SendResult:
        code = _int(answer.get("status_code"))
        text = str(answer.get("status_text") or "")
        if answer.get("status") != "OK":
            detail = f"SMS.ru {code}: {text}".strip()
            if code in SMSRU_TRANSIENT:
                return SendResult(False, "", detail)
            return SendResult(False, "", detail, permanent=True, fatal=True)
        entry = (answer.get("sms") or {}).get(number) or {}
        code = _int(entry.get("status_code"))
        detail = f"SMS.ru {code}: {entry.get('status_text') or ''}".strip()
        if entry.get("status") == "OK" and code == 100:
            return SendResult(True, str(entry.get("sms_id") or ""), "accepted")
        if code in SMSRU_BAD_NUMBER:
            return SendResult(False, "", detail, permanent=True, bad_address=True)
        if code in SMSRU_FATAL:
            return SendResult(False, "", detail, permanent=True, fatal=True)
        if code in SMSRU_TRANSIENT or not entry:
            return SendResult(False, "", detail or "SMS.ru: no answer for the number")
        return SendResult(False, "", detail, permanent=True)

    async def close(self) -> None:
        await self.http.aclose()


# SMSC.ru answer codes (https://smsc.ru/api/http/send/sms/sms_answer/).
SMSC_FATAL = {2, 3, 6}  # wrong login or key / IP not allowed, no money, text or sender forbidden
SMSC_BAD_NUMBER = {7, 8}  # a malformed number, a number the message cannot reach
SMSC_OUTAGE = {4}  # the IP is blocked for a while after too many errors
SMSC_TRANSIENT = {9}  # the same request again within a minute, or too many at once


# SMSC.ru message statuses (https://smsc.ru/api/http/status_messages/): -3 not found
# (yet), -1 waiting, 0 handed to the operator.
SMSC_DELIVERED = {1, 2, 4}  # delivered, read, link followed
SMSC_UNDELIVERED = {3, 20, 22, 23, 24, 25}  # expired, undeliverable, bad number, forbidden…


class SmscProvider:
    """SMSC.ru (SMS-Центр) over HTTPS: ``POST /sys/send.php`` with ``fmt=3`` (JSON).

    ``FIRMA_SMS_API_KEY`` is the account's API key (``apikey``), or ``login:password``
    for an account without one."""

    DEFAULT_URL = "https://smsc.ru"
    name = "smsc"

    def __init__(self, config: SmsConfig) -> None:
        if not config.api_key:
            raise ValueError("FIRMA_SMS_API_KEY is needed for the smsc provider")
        login, colon, password = config.api_key.partition(":")
        self.credentials = {"login": login, "psw": password} if colon else {"apikey": login}
        self.config = config
        base = (config.api_url or self.DEFAULT_URL).rstrip("/")
        self.url, self.status_url = base + "/sys/send.php", base + "/sys/status.php"
        self.http = httpx.AsyncClient(timeout=config.timeout)

    async def send(self, phone: str, text: str) -> SendResult:
        form = {**self.credentials, "phones": phone, "mes": text, "fmt": "3", "charset": "utf-8"}
        if self.config.sender:
            form["sender"] = self.config.sender
        answer = await _post(self.http, self.url, form)
        return answer if isinstance(answer, SendResult) else self._result(answer)

    async def statuses(self, messages: list[tuple[str, str]]) -> dict[str, Report]:
        reports: dict[str, Report] = {}
        for chunk in _chunks(messages):
            # The trailing commas keep the answer a list even for one message.
            form = {
                **self.credentials,
                "phone": "".join(f"{phone}," for _id, phone in chunk),
                "id": "".join(f"{message_id}," for message_id, _phone in chunk),
                "fmt": "3",
                "charset": "utf-8",
            }
            answer = await _post(self.http, self.status_url, form, shape=list)
            if isinstance(answer, SendResult):
                log.warning("SMSC status request failed: %s", answer.detail)
                continue
            for position, item in enumerate(answer[: len(chunk)]):
                if not isinstance(item, dict) or "error" in item:
                    continue
                message_id = str(item.get("id", chunk[position][0]))
                code = _int(item.get("status"))
                error = _int(item.get("err"))
                detail = f"SMSC status {code}" + (f", error {error}" if error else "")
                state = (
                    "delivered"
                    if code in SMSC_DELIVERED
                    else "undelivered"
                    if code in SMSC_UNDELIVERED
                    else "pending"
                )
                reports[message_id] = Report(state, detail)
        return reports

    @staticmethod
    def _result(answer: dict) -> SendResult:
        code = _int(answer.get("error_code"))
        if code is None and answer.get("id") is not None and "error" not in answer:
            parts = answer.get("cnt", "?")
            return SendResult(True, str(answer["id"]), f"accepted, {parts} part(s)")
        detail = f"SMSC {code}: {answer.get('error') or ''}".strip()
        if code in SMSC_BAD_NUMBER:
            return SendResult(False, "", detail, permanent=True, bad_address=True)
        if code in SMSC_FATAL:
            return SendResult(False, "", detail, permanent=True, fatal=True)
        if code in SMSC_OUTAGE:
            return SendResult(False, "", detail, outage=True)
        if code in SMSC_TRANSIENT or code is None:
            return SendResult(False, "", detail if code else f"SMSC: no answer ({answer!r:.200})")
        return SendResult(False, "", detail, permanent=True)

    async def close(self) -> None:
        await self.http.aclose()


def _chunks(messages: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    return [messages[i : i + REPORT_CHUNK] for i in range(0, len(messages), REPORT_CHUNK)]


def _what(answer: dict | SendResult) -> str:
    return answer.detail if isinstance(answer, SendResult) else repr(answer)[:300]


async def _post(
    http: httpx.AsyncClient, url: str, form: dict[str, str], *, shape: type = dict
) -> Any:
    """A gateway's JSON answer (an object, or a list with ``shape=list``), or the
    result of not getting one: unreachable, 5xx or 429 are an outage (the row waits
    for the service); anything else is retried."""
    try:
        response = await http.post(url, data=form)
    except httpx.HTTPError as exc:
        return SendResult(False, "", f"gateway unreachable: {exc!r}", outage=True)
    if response.status_code >= 500 or response.status_code == 429:
        return SendResult(False, "", f"gateway HTTP {response.status_code}", outage=True)
    if response.status_code != 200:
        return SendResult(False, "", f"gateway HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, shape):
        what = "list" if shape is list else "object"
        return SendResult(False, "", f"gateway answer is not a JSON {what}: {response.text[:200]}")
    return answer


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


PROVIDERS = {"log": LogSmsProvider, "smsru": SmsRuProvider, "smsc": SmscProvider}


def create_sms_provider(config: SmsConfig) -> SmsProvider:
    """The provider FIRMA_SMS_PROVIDER names (``log``, ``smsru`` or ``smsc``)."""
    if config.provider == "log":
        return LogSmsProvider()
    if config.provider in PROVIDERS:
        return PROVIDERS[config.provider](config)
    raise ValueError(f"unknown SMS provider {config.provider!r} (known: {', '.join(PROVIDERS)})")
