"""Reading CommerceML 2 order documents (``Документ`` of «Заказ товара»): a store's
answer to ``type=sale&mode=query``, or what 1C sends back about Firma's orders.

As lenient and as safe as the catalog reader (same parser: no DTD, no entities, no
network) and streaming: each ``Документ`` is built and dropped in turn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from lxml import etree

from channels.commerceml.reader import (
    _child,
    _children,
    _decimal,
    _local,
    _text,
    forget,
    safe_events,
)
from crm_core.exchange.records import LineRecord, OrderDocument, PartyRecord

PHONE_TYPES = ("телефон", "phone")
EMAIL_TYPES = ("почта", "email", "e-mail", "электронная")


def _requisites(el: etree._Element | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for req in _children(el, "ЗначениеРеквизита"):
        name = _text(req, "Наименование")
        if name:
            values[name] = " ".join((_text(req, "Значение") or "").split())
    return values


def _party(el: etree._Element) -> PartyRecord:
    party = PartyRecord(
        external_id=_text(el, "Ид"),
        name=_text(el, "Наименование"),
        full_name=_text(el, "ПолноеНаименование") or _text(el, "ОфициальноеНаименование"),
        inn=_text(el, "ИНН"),
        kpp=_text(el, "КПП"),
    )
    person = " ".join(filter(None, (_text(el, n) for n in ("Фамилия", "Имя", "Отчество")))).strip()
    if not party.name and person:
        party.name = person
    party.is_company = (
        bool(party.inn and len(party.inn) == 10)
        or _child(el, "ОфициальноеНаименование") is not None
    )
    for holder in ("АдресРегистрации", "Адрес", "ЮридическийАдрес"):
        address = _child(el, holder)
        if address is not None and _text(address, "Представление"):
            party.address = _text(address, "Представление")
            break
    contacts = list(_children(_child(el, "Контакты"), "Контакт"))
    for rep in _children(_child(el, "Представители"), "Представитель"):
        inner = _child(rep, "Контрагент")
        if inner is not None:
            contacts += _children(_child(inner, "Контакты"), "Контакт")
    for contact in contacts:
        kind = (_text(contact, "Тип") or contact.get("Тип") or "").lower()
        value = _text(contact, "Значение")
        if not value:
            continue
        if any(t in kind for t in EMAIL_TYPES) or "@" in value:
            party.emails.append(value)
        elif any(t in kind for t in PHONE_TYPES):
            party.phones.append(value)
    return party


def _line(el: etree._Element) -> LineRecord | None:
    name = " ".join((_text(el, "Наименование") or "").split())
    quantity = _decimal(_text(el, "Количество"))
    price = _decimal(_text(el, "ЦенаЗаЕдиницу"))
    amount = _decimal(_text(el, "Сумма"))
    if not name or quantity is None:
        return None
    if price is None:
        price = (amount / quantity) if amount is not None and quantity else Decimal(0)
    requisites = _requisites(_child(el, "ЗначенияРеквизитов"))
    kind = (requisites.get("ТипНоменклатуры") or requisites.get("ВидНоменклатуры") or "").lower()
    unit_el = _child(el, "БазоваяЕдиница")
    unit = None
    if unit_el is not None:
        unit = (unit_el.text or "").strip() or unit_el.get("НаименованиеКраткое")
    discount = None
    for item in _children(_child(el, "Скидки"), "Скидка"):
        value = _decimal(_text(item, "Сумма"))
        if value is not None:
            discount = (discount or Decimal(0)) + value
    return LineRecord(
        external_id=_text(el, "Ид"),
        name=name,
        quantity=quantity,
        price=price,
        amount=amount,
        sku=_text(el, "Артикул"),
        unit=unit,
        unit_code=unit_el.get("Код") if unit_el is not None else None,
        is_service="услуга" in kind,
        discount=discount,
    )


def _when(day: str | None, clock: str | None, zone: ZoneInfo) -> datetime | None:
    """``Дата`` (2021-02-11, or 11.02.2021) and ``Время`` in the firm's zone, as UTC."""
    if not day:
        return None
    day = day.strip()
    try:
        if "." in day[:3]:
            parsed = datetime.strptime(day[:10], "%d.%m.%Y").date()
        else:
            parsed = date.fromisoformat(day[:10])
    except ValueError:
        return None
    moment = time(0, 0)
    source = clock or (day[11:] if len(day) > 11 else None)
    if source:
        with contextlib.suppress(ValueError):
            moment = time.fromisoformat(source.strip()[:8])
    return datetime.combine(parsed, moment, tzinfo=zone).astimezone(UTC)


def _document(el: etree._Element, zone: ZoneInfo) -> OrderDocument | None:
    ext = _text(el, "Ид")
    number = _text(el, "Номер")
    if not ext and not number:
        return None
    parties = _children(_child(el, "Контрагенты"), "Контрагент")
    buyer = next(
        (p for p in parties if (_text(p, "Роль") or "").lower() == "покупатель"),
        parties[0] if parties else None,
    )
    lines = [line for t in _children(_child(el, "Товары"), "Товар") if (line := _line(t))]
    return OrderDocument(
        external_id=ext or number or "",
        number=number or ext or "",
        date=_when(_text(el, "Дата"), _text(el, "Время"), zone),
        currency=_text(el, "Валюта") or "руб",
        total=_decimal(_text(el, "Сумма")) or Decimal(0),
        comment=_text(el, "Комментарий"),
        party=_party(buyer) if buyer is not None else None,
        lines=lines,
        requisites=_requisites(_child(el, "ЗначенияРеквизитов")),
        deleted=(_text(el, "ПометкаУдаления") or "").lower() == "true",
    )


def read_documents(
    source: str | Path | BinaryIO, *, timezone: str = "Europe/Moscow"
) -> Iterator[OrderDocument]:
    """The order documents of a file, in document order; others (payments...) skipped."""
    zone = ZoneInfo(timezone)
    for event, el in safe_events(source, ("Документ",)):
        if event != "end" or _local(el) != "Документ":
            continue
        operation = (_text(el, "ХозОперация") or "Заказ товара").lower()
        if "заказ" in operation:
            document = _document(el, zone)
            if document is not None:
                yield document
        forget(el)
