"""Writing CommerceML 2 (schema 2.08, the version 1C and Bitrix both read): the
catalog (``import.xml``), the offers (``offers.xml``) and order documents.

Strict: elements in the schema's order, dates and amounts in its formats, UTF-8 and
the ``urn:1C.ru:commerceml_2`` namespace; the tests validate the output against the
published XSD. Streaming: ``lxml.etree.xmlfile`` writes each element as it comes,
so a 50,000-product catalog never sits in memory; the record sources are async
iterables (the database is read in batches while the file is written).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from copy import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from lxml import etree

from crm_core.exchange.records import (
    DELIVERY_ID,
    GroupRecord,
    OfferRecord,
    OrderDocument,
    PartyRecord,
    PriceTypeRecord,
    ProductRecord,
    PropertyRecord,
)

VERSION = "2.08"
NS = "urn:1C.ru:commerceml_2"
OKEI = {"шт": ("796", "Штука", "PCE"), "кг": ("166", "Килограмм", "KGM")}
OKEI.update({"ч": ("356", "Час", "HUR"), "м": ("006", "Метр", "MTR"), "л": ("112", "Литр", "LTR")})


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def _qty(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _sub(parent: etree._Element, tag: str, text: Any = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = str(text)
    return el


def _requisites(parent: etree._Element, values: Iterable[tuple[str, str]]) -> None:
    values = [(k, v) for k, v in values if k]
    if not values:
        return
    holder = _sub(parent, "ЗначенияРеквизитов")
    for name, value in values:
        req = _sub(holder, "ЗначениеРеквизита")
        _sub(req, "Наименование", name)
        _sub(req, "Значение", value)


def _unit(parent: etree._Element, unit: str | None, code: str | None = None) -> None:
    unit = unit or "шт"
    known = OKEI.get(unit)
    attrs = {}
    if code or known:
        attrs["Код"] = code or known[0]
    if known:
        attrs["НаименованиеПолное"] = known[1]
        attrs["МеждународноеСокращение"] = known[2]
    _sub(parent, "БазоваяЕдиница", unit, **attrs)


_TEMPLATES: dict[tuple, etree._Element] = {}


def _template(key: tuple, build) -> etree._Element:
    """A copy of a constant sub-tree (a unit, a VAT rate, the kind requisites): libxml2
    copies one in C several times faster than Python builds it element by element."""
    el = _TEMPLATES.get(key)
    if el is None:
        holder = etree.Element("x")
        build(holder)
        el = holder[0]
        if len(_TEMPLATES) < 1000:  # units come from the data: the cache stays bounded
            _TEMPLATES[key] = el
    return copy(el)


def _unit_copy(unit: str | None) -> etree._Element:
    return _template(("unit", unit), lambda holder: _unit(holder, unit))


def _vat_copy(vat: str) -> etree._Element:
    def build(holder: etree._Element) -> None:
        rate = _sub(_sub(holder, "СтавкиНалогов"), "СтавкаНалога")
        _sub(rate, "Наименование", "НДС")
        _sub(rate, "Ставка", vat)

    return _template(("vat", vat), build)


def _kind_copy(kind: str) -> etree._Element:
    return _template(
        ("kind", kind),
        lambda holder: _requisites(holder, [("ВидНоменклатуры", kind), ("ТипНоменклатуры", kind)]),
    )


_SE = etree.SubElement


def _owner(parent: etree._Element, firm: str) -> None:
    owner = _sub(parent, "Владелец")
    _sub(owner, "Ид", "firma")
    _sub(owner, "Наименование", firm)
    _sub(owner, "ОфициальноеНаименование", firm)


async def _aiter(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


def _root_attrs(at: datetime) -> dict[str, str]:
    return {"ВерсияСхемы": VERSION, "ДатаФормирования": at.strftime("%Y-%m-%dT%H:%M:%S")}


def _group_el(record: GroupRecord, children: dict[str | None, list[GroupRecord]]) -> etree._Element:
    el = etree.Element("Группа")
    _sub(el, "Ид", record.external_id)
    _sub(el, "Наименование", record.name)
    kids = children.get(record.external_id, [])
    if kids:
        holder = _sub(el, "Группы")
        for kid in kids:
            holder.append(_group_el(kid, children))
    return el


def _property_el(record: PropertyRecord) -> etree._Element:
    el = etree.Element("Свойство")
    _sub(el, "Ид", record.external_id)
    _sub(el, "Наименование", record.name)
    _sub(el, "ТипЗначений", "Справочник" if record.values else "Строка")
    if record.values:
        options = _sub(el, "ВариантыЗначений")
        for key, value in record.values.items():
            option = _sub(options, "Справочник")
            _sub(option, "ИдЗначения", key)
            _sub(option, "Значение", value)
    return el


def _build_product(record: ProductRecord) -> etree._Element:
    el = etree.Element("Товар")
    _SE(el, "Ид").text = record.external_id
    if record.sku:
        _SE(el, "Артикул").text = record.sku
    _SE(el, "Наименование").text = record.name
    el.append(_unit_copy(record.unit))
    if record.group_external_ids:
        groups = _SE(el, "Группы")
        for ext in record.group_external_ids:
            _SE(groups, "Ид").text = ext
    if record.description:
        _SE(el, "Описание").text = record.description
    if record.image:
        _SE(el, "Картинка").text = record.image
    if record.properties:
        props = _SE(el, "ЗначенияСвойств")
        for key, value in record.properties.items():
            prop = _SE(props, "ЗначенияСвойства")
            _SE(prop, "Ид").text = key
            _SE(prop, "Значение").text = value
    el.append(_vat_copy("Без НДС" if record.vat_rate is None else _qty(record.vat_rate)))
    el.append(_kind_copy("Услуга" if record.is_service else "Товар"))
    return el


# Product shapes kept as templates, beside units and offers; past this many a product
# of a new shape is built element by element (its shape comes from the data).
_MAX_PRODUCT_SHAPES = 500
_PRODUCT_SHAPES: dict[tuple, tuple[etree._Element, list[int]]] = {}


def _product_texts(record: ProductRecord) -> list[str]:
    """The texts that vary between products of one shape, in document order."""
    texts = [record.external_id]
    if record.sku:
        texts.append(record.sku)
    texts.append(record.name)
    texts.extend(record.group_external_ids)
    if record.description:
        texts.append(record.description)
    if record.image:
        texts.append(record.image)
    for key, value in record.properties.items():
        texts.append(key)
        texts.append(value)
    return texts


def _product_el(record: ProductRecord) -> etree._Element:
    """A product as a copy of the template of its shape (which optional elements, how
    many groups and properties, its unit, VAT and kind) with its texts set: the same
    bytes as building it element by element, at about half the cost."""
    vat = "Без НДС" if record.vat_rate is None else _qty(record.vat_rate)
    shape = (
        bool(record.sku),
        record.unit,
        len(record.group_external_ids),
        bool(record.description),
        bool(record.image),
        len(record.properties),
        vat,
        record.is_service,
    )
    found = _PRODUCT_SHAPES.get(shape)
    if found is None:
        if len(_PRODUCT_SHAPES) >= _MAX_PRODUCT_SHAPES:
            return _build_product(record)
        # Placeholders mark where each varying text goes in the template.
        marks = [f"\u2063{n}\u2063" for n in range(len(_product_texts(record)))]
        sample = _sample_product(record, iter(marks))
        template = _build_product(sample)
        where = {node.text: n for n, node in enumerate(template.iter()) if node.text in marks}
        found = _PRODUCT_SHAPES[shape] = (template, [where[m] for m in marks])
    template, places = found
    el = template.__copy__()
    nodes = list(el.iter())
    for place, text in zip(places, _product_texts(record), strict=True):
        nodes[place].text = text
    return el


def _sample_product(record: ProductRecord, marks: Iterator[str]) -> ProductRecord:
    """A product of ``record``'s shape whose varying texts are ``marks``, in the
    order of ``_product_texts``."""
    sample = ProductRecord(external_id=next(marks), name="")
    sample.sku = next(marks) if record.sku else None
    sample.name = next(marks)
    sample.unit = record.unit
    sample.group_external_ids = [next(marks) for _ in record.group_external_ids]
    sample.description = next(marks) if record.description else None
    sample.image = next(marks) if record.image else None
    sample.properties = {}
    for _ in record.properties:
        key = next(marks)
        sample.properties[key] = next(marks)
    sample.vat_rate = record.vat_rate
    sample.is_service = record.is_service
    return sample


async def write_catalog(
    out: IO[bytes] | str,
    *,
    groups: list[GroupRecord],
    properties: list[PropertyRecord],
    products: Iterable[ProductRecord] | AsyncIterable[ProductRecord],
    catalog_id: str,
    firm: str = "Firma",
    only_changes: bool = False,
    at: datetime | None = None,
) -> int:
    """``import.xml``: the classifier (groups as a tree, properties) and the products.
    Returns how many products were written."""
    at = at or datetime.now(UTC)
    children: dict[str | None, list[GroupRecord]] = {}
    known = {g.external_id for g in groups}
    for group in groups:
        parent = group.parent_external_id if group.parent_external_id in known else None
        children.setdefault(parent, []).append(group)
    count = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("КоммерческаяИнформация", _root_attrs(at), nsmap={None: NS}):
            classifier = etree.Element("Классификатор")
            _sub(classifier, "Ид", catalog_id)
            _sub(classifier, "Наименование", f"Классификатор ({firm})")
            _owner(classifier, firm)
            if groups:
                holder = _sub(classifier, "Группы")
                for group in children.get(None, []):
                    holder.append(_group_el(group, children))
            if properties:
                holder = _sub(classifier, "Свойства")
                for prop in properties:
                    holder.append(_property_el(prop))
            xf.write(classifier)
            attrs = {"СодержитТолькоИзменения": "true" if only_changes else "false"}
            with xf.element("Каталог", attrs):
                head = etree.Element("x")
                _sub(head, "Ид", catalog_id)
                _sub(head, "ИдКлассификатора", catalog_id)
                _sub(head, "Наименование", f"Каталог товаров ({firm})")
                _owner(head, firm)
                for child in head:
                    xf.write(child)
                with xf.element("Товары"):
                    async for product in _aiter(products):
                        xf.write(_product_el(product))
                        count += 1
    return count


async def write_offers(
    out: IO[bytes] | str,
    *,
    price_types: list[PriceTypeRecord],
    offers: Iterable[OfferRecord] | AsyncIterable[OfferRecord],
    catalog_id: str,
    firm: str = "Firma",
    at: datetime | None = None,
) -> int:
    """``offers.xml``: price types, then each product's prices and stock."""
    at = at or datetime.now(UTC)
    count = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        root = xf.element("КоммерческаяИнформация", _root_attrs(at), nsmap={None: NS})
        with root, xf.element("ПакетПредложений", {"СодержитТолькоИзменения": "false"}):
            head = etree.Element("x")
            _sub(head, "Ид", f"{catalog_id}#offers")
            _sub(head, "Наименование", f"Пакет предложений ({firm})")
            _sub(head, "ИдКаталога", catalog_id)
            _sub(head, "ИдКлассификатора", catalog_id)
            _owner(head, firm)
            kinds = _sub(head, "ТипыЦен")
            for kind in price_types:
                el = _sub(kinds, "ТипЦены")
                _sub(el, "Ид", kind.external_id)
                _sub(el, "Наименование", kind.name)
                _sub(el, "Валюта", kind.currency)
            for child in head:
                xf.write(child)
            currencies = {k.external_id: k.currency for k in price_types}
            with xf.element("Предложения"):
                async for offer in _aiter(offers):
                    xf.write(_offer_el(offer, currencies))
                    count += 1
    return count


def _build_offer(record: OfferRecord, currencies: dict[str, str]) -> etree._Element:
    el = etree.Element("Предложение")
    _SE(el, "Ид").text = record.external_id
    _SE(el, "Наименование").text = getattr(record, "name", None) or record.external_id
    el.append(_unit_copy(None))
    if record.prices:
        prices = _SE(el, "Цены")
        for kind, value in record.prices.items():
            price = _SE(prices, "Цена")
            money, currency = _money(value), currencies.get(kind, "RUB")
            _SE(price, "Представление").text = f"{money} {currency} за шт"
            _SE(price, "ИдТипаЦены").text = kind
            _SE(price, "ЦенаЗаЕдиницу").text = money
            _SE(price, "Валюта").text = currency
    if record.quantity is not None:
        _SE(el, "Количество").text = _qty(record.quantity)
    return el


def _offer_el(record: OfferRecord, currencies: dict[str, str]) -> etree._Element:
    """An offer as a copy of the template of its shape (how many prices, stock or not)
    with the texts filled in: ~2x faster than building it element by element."""
    prices = record.prices or {}
    if len(prices) > 20:
        return _build_offer(record, currencies)
    shape = ("offer", len(prices), record.quantity is not None)
    template = _TEMPLATES.get(shape)
    if template is None:
        sample = OfferRecord("x", {f"k{n}": Decimal(0) for n in range(len(prices))})
        sample.quantity = Decimal(0) if record.quantity is not None else None
        template = _TEMPLATES[shape] = _build_offer(sample, {})
    el = copy(template)
    nodes = list(el.iter())  # Предложение, Ид, Наименование, БазоваяЕдиница, Цены...
    nodes[1].text = record.external_id
    nodes[2].text = getattr(record, "name", None) or record.external_id
    at = 5  # the first Цена's Представление (after Цены and Цена)
    for kind, value in prices.items():
        money, currency = _money(value), currencies.get(kind, "RUB")
        nodes[at + 1].text = f"{money} {currency} за шт"
        nodes[at + 2].text = kind
        nodes[at + 3].text = money
        nodes[at + 4].text = currency
        at += 5
    if record.quantity is not None:
        nodes[at if prices else 4].text = _qty(record.quantity)
    return el


def _party_el(party: PartyRecord) -> etree._Element:
    el = etree.Element("Контрагент")
    _sub(el, "Ид", party.external_id or "")
    name = party.name or party.full_name or party.external_id or "Покупатель"
    _sub(el, "Наименование", name)
    if party.is_company:
        _sub(el, "ОфициальноеНаименование", party.full_name or name)
        if party.address:
            _sub(_sub(el, "ЮридическийАдрес"), "Представление", party.address)
        if party.inn:
            _sub(el, "ИНН", party.inn)
        if party.kpp:
            _sub(el, "КПП", party.kpp)
    else:
        _sub(el, "ПолноеНаименование", party.full_name or name)
        if party.inn:
            _sub(el, "ИНН", party.inn)
        if party.address:
            _sub(_sub(el, "АдресРегистрации"), "Представление", party.address)
    if party.address:
        _sub(_sub(el, "Адрес"), "Представление", party.address)
    if party.phones or party.emails:
        contacts = _sub(el, "Контакты")
        for kind, values in (("Телефон рабочий", party.phones), ("Почта", party.emails)):
            for value in values:
                contact = _sub(contacts, "Контакт")
                _sub(contact, "Тип", kind)
                _sub(contact, "Значение", value)
    _sub(el, "Роль", "Покупатель")
    return el


def _line_el(line: Any) -> etree._Element:
    el = etree.Element("Товар")
    _sub(el, "Ид", line.external_id or DELIVERY_ID)
    if line.sku:
        _sub(el, "Артикул", line.sku)
    _sub(el, "Наименование", line.name)
    _unit(el, line.unit, line.unit_code)
    kind = "Услуга" if line.is_service or line.is_delivery else "Товар"
    _requisites(el, [("ВидНоменклатуры", kind), ("ТипНоменклатуры", kind)])
    _sub(el, "ЦенаЗаЕдиницу", _money(line.price))
    _sub(el, "Количество", _qty(line.quantity))
    _sub(el, "Сумма", _money(line.amount if line.amount is not None else line.price))
    return el


def document_element(document: OrderDocument, zone: ZoneInfo) -> etree._Element:
    """One ``Документ`` «Заказ товара» with the firm as the seller."""
    el = etree.Element("Документ")
    local = (document.date or datetime.now(UTC)).astimezone(zone)
    _sub(el, "Ид", document.external_id)
    _sub(el, "Номер", document.number)
    _sub(el, "Дата", local.strftime("%Y-%m-%d"))
    _sub(el, "ХозОперация", "Заказ товара")
    _sub(el, "Роль", "Продавец")
    _sub(el, "Валюта", document.currency)
    _sub(el, "Курс", "1")
    _sub(el, "Сумма", _money(document.total))
    parties = _sub(el, "Контрагенты")
    if document.party is not None:
        parties.append(_party_el(document.party))
    _sub(el, "Время", local.strftime("%H:%M:%S"))
    if document.comment:
        _sub(el, "Комментарий", document.comment)
    if document.lines:
        lines = _sub(el, "Товары")
        for line in document.lines:
            lines.append(_line_el(line))
    _requisites(el, list(document.requisites.items()))
    return el


async def write_orders(
    out: IO[bytes] | str,
    documents: Iterable[OrderDocument] | AsyncIterable[OrderDocument],
    *,
    timezone: str = "Europe/Moscow",
    at: datetime | None = None,
) -> int:
    """The answer to ``type=sale&mode=query`` (or a file of statuses for a store)."""
    zone = ZoneInfo(timezone)
    at = (at or datetime.now(UTC)).astimezone(zone)
    count = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("КоммерческаяИнформация", _root_attrs(at), nsmap={None: NS}):
            async for document in _aiter(documents):
                xf.write(document_element(document, zone))
                count += 1
    return count
