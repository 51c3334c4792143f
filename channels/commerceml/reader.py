"""A lenient, streaming, safe reader of CommerceML 2 catalog and offers files.

Lenient: real exports (1C, Bitrix, UMI...) rarely validate against the XSDs and the
element set shifts between schema versions 2.04 and 2.10, so elements are matched by
local name and their place (namespace ignored), unknown ones skipped, and a broken
value (a price "1 200,50") read as well as it can be rather than refusing the file.

Streaming: ``iterparse`` and every handled element is cleared with its earlier
siblings, so a 50,000-product catalog is never held in memory.

Safe: entities are never resolved, nothing is fetched over the network, libxml2's
huge-tree limits stay on, and any DOCTYPE is refused outright: CommerceML never has
one, and refusing it closes XXE and entity-expansion ("billion laughs") for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from crm_core.exchange.records import (
    CatalogHeader,
    GroupRecord,
    OfferRecord,
    PriceTypeRecord,
    ProductRecord,
    PropertyRecord,
    Record,
)

# ОКЕИ codes 1C puts in БазоваяЕдиница@Код -> the short names Firma shows.
_OKEI = {
    "796": "шт",
    "166": "кг",
    "163": "г",
    "006": "м",
    "112": "л",
    "055": "м2",
    "113": "м3",
    "356": "ч",
    "778": "упак",
    "839": "компл",
    "704": "набор",
    "715": "пар",
}


class UnsafeXML(ValueError):
    """The file declares a DTD or entities: refused before anything is read."""


_LOCAL: dict[object, str] = {}


def _local(el: etree._Element) -> str:
    tag = el.tag
    name = _LOCAL.get(tag)
    if name is None:
        # comments, processing instructions, entity nodes have no string tag
        name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if len(_LOCAL) < 10_000:  # a file of a million made-up tags cannot grow it
            _LOCAL[tag] = name
    return name


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for child in el:
        if _local(child) == name:
            return child
    return None


def _children(el: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if el is None else [c for c in el if _local(c) == name]


def _text(el: etree._Element, name: str) -> str | None:
    child = _child(el, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _decimal(value: str | None) -> Decimal | None:
    """ "1 200,50" and "1200.50" alike; None for what is not a number."""
    if value is None:
        return None
    cleaned = value.replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _parent_local(el: etree._Element, up: int = 1) -> str:
    for _ in range(up):
        el = el.getparent()
        if el is None:
            return ""
    return _local(el)


def _fields(el: etree._Element | None) -> dict[str, etree._Element]:
    """Local name -> first child of that name, in one pass over the children (a
    builder that looked each field up by scanning the children again cost ~6x the
    parse itself)."""
    out: dict[str, etree._Element] = {}
    if el is None:
        return out
    local = _LOCAL
    for child in el:
        name = local.get(child.tag)
        if name is None:
            name = _local(child)
        if name not in out:
            out[name] = child
    return out


def _value(el: etree._Element | None) -> str | None:
    """An element's stripped text; None when absent or blank."""
    if el is None:
        return None
    text = el.text
    if text is None:
        return None
    return text.strip() or None


def _each(el: etree._Element | None, name: str) -> Iterator[etree._Element]:
    if el is None:
        return
    local = _LOCAL
    for child in el:
        found = local.get(child.tag)
        if (found if found is not None else _local(child)) == name:
            yield child


def _group(el: etree._Element) -> GroupRecord | None:
    fields = _fields(el)
    ext = _value(fields.get("Ид"))
    if not ext:
        return None
    holder = el.getparent().getparent() if el.getparent() is not None else None
    parent = _text(holder, "Ид") if holder is not None and _local(holder) == "Группа" else None
    return GroupRecord(ext, _value(fields.get("Наименование")) or ext, parent)


def _property(el: etree._Element) -> PropertyRecord | None:
    fields = _fields(el)
    ext = _value(fields.get("Ид"))
    if not ext:
        return None
    values = {}
    for option in _each(fields.get("ВариантыЗначений"), "Справочник"):
        option_fields = _fields(option)
        key = _value(option_fields.get("ИдЗначения"))
        value = _value(option_fields.get("Значение"))
        if key and value is not None:
            values[key] = value
    return PropertyRecord(ext, _value(fields.get("Наименование")) or ext, values)


def _pairs(holder: etree._Element | None, item: str, key: str, value: str) -> Iterator:
    """(key text, value text) of each ``item`` child of ``holder``."""
    for el in _each(holder, item):
        fields = _fields(el)
        yield _value(fields.get(key)), _value(fields.get(value))


def _product(el: etree._Element) -> ProductRecord | None:
    fields = _fields(el)
    ext = _value(fields.get("Ид"))
    if not ext:
        return None
    unit_el = fields.get("БазоваяЕдиница")
    unit = None
    if unit_el is not None:  # "шт" in text (2.04) or only the attributes (2.07+)
        unit = (unit_el.text or "").strip() or unit_el.get("НаименованиеКраткое")
        unit = unit or _OKEI.get((unit_el.get("Код") or "").strip())
        unit = unit or unit_el.get("МеждународноеСокращение") or unit_el.get("НаименованиеПолное")
    requisites = {}
    holder = fields.get("ЗначенияРеквизитов")
    for name, value in _pairs(holder, "ЗначениеРеквизита", "Наименование", "Значение"):
        if name:
            requisites[name] = value or ""
    properties = {}
    holder = fields.get("ЗначенияСвойств")
    for key, value in _pairs(holder, "ЗначенияСвойства", "Ид", "Значение"):
        if key:
            properties[key] = value or ""
    vat = None
    holder = fields.get("СтавкиНалогов")
    for name, rate in _pairs(holder, "СтавкаНалога", "Наименование", "Ставка"):
        if (name or "").upper() == "НДС":
            vat = _decimal(rate)  # "Без НДС" reads as None
    kind = (requisites.get("ТипНоменклатуры") or requisites.get("ВидНоменклатуры") or "").lower()
    return ProductRecord(
        external_id=ext,
        name=_value(fields.get("Наименование")) or ext,
        sku=_value(fields.get("Артикул")),
        unit=unit,
        description=_value(fields.get("Описание")),
        image=_value(fields.get("Картинка")),
        group_external_ids=[g.text.strip() for g in _each(fields.get("Группы"), "Ид") if g.text],
        properties=properties,
        requisites=requisites,
        vat_rate=vat,
        is_service="услуга" in kind,
        deleted=el.get("Статус") == "Удален"
        or (_value(fields.get("ПометкаУдаления")) or "") == "true",
    )


def _price_type(el: etree._Element) -> PriceTypeRecord | None:
    fields = _fields(el)
    ext = _value(fields.get("Ид"))
    if not ext:
        return None
    name = _value(fields.get("Наименование")) or ext
    return PriceTypeRecord(ext, name, _value(fields.get("Валюта")) or "RUB")


def _offer(el: etree._Element) -> OfferRecord | None:
    fields = _fields(el)
    ext = _value(fields.get("Ид"))
    if not ext:
        return None
    prices = None
    prices_el = fields.get("Цены")
    if prices_el is not None:
        prices = {}
        for kind, text in _pairs(prices_el, "Цена", "ИдТипаЦены", "ЦенаЗаЕдиницу"):
            value = _decimal(text)
            if kind and value is not None:
                prices[kind] = value
    return OfferRecord(ext, prices, _quantity(el, fields))


def _quantity(el: etree._Element, fields: dict[str, etree._Element]) -> Decimal | None:
    """Количество (2.04–2.08), else the sum over warehouses (attributes in 2.07,
    ``Остатки/Остаток`` in 2.09+); None when the file says nothing about stock."""
    direct = _decimal(_value(fields.get("Количество")))
    if direct is not None:
        return direct
    if "Склад" not in fields and "Остатки" not in fields:
        return None
    stores = [_decimal(s.get("КоличествоНаСкладе")) for s in _each(el, "Склад")]
    rests = []
    for rest in _each(fields.get("Остатки"), "Остаток"):
        store = _child(rest, "Склад")
        rests.append(_decimal(_text(store if store is not None else rest, "Количество")))
    values = [v for v in stores + rests if v is not None]
    return sum(values, Decimal(0)) if values else None


# element name -> (required parent name, builder)
_HANDLERS = {
    "Группа": ("Группы", _group),
    "Свойство": ("Свойства", _property),
    "Товар": ("Товары", _product),
    "ТипЦены": ("ТипыЦен", _price_type),
    "Предложение": ("Предложения", _offer),
}


# Only these elements reach Python; libxml2 walks the rest (the bulk of a file) alone.
CATALOG_TAGS = ("Каталог", *_HANDLERS)


def safe_events(
    source: str | Path | BinaryIO, tags: tuple[str, ...] | None = None
) -> Iterator[tuple[str, etree._Element]]:
    """``iterparse`` start/end events with entities off, no network and any DTD refused;
    ``tags`` (local names, any namespace) limits the events to those elements."""
    parser = etree.iterparse(
        source if not isinstance(source, Path) else str(source),
        events=("start", "end"),
        tag=[f"{{*}}{t}" for t in tags] if tags else None,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    for event, el in parser:
        if not checked:
            _refuse_dtd(el)
            checked = True
        yield event, el
    if not checked and parser.root is not None:  # no element of ``tags``: check anyway
        _refuse_dtd(parser.root)


def _refuse_dtd(el: etree._Element) -> None:
    info = el.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise UnsafeXML("The file declares a DTD; CommerceML files never do")


def forget(el: etree._Element) -> None:
    """Drop a handled element and its earlier siblings: memory stays flat."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    while el.getprevious() is not None and parent is not None:
        del parent[0]


def read_catalog(
    source: str | Path | BinaryIO, *, skip: int = 0
) -> Iterator[Record | CatalogHeader]:
    """Records of an ``import*.xml`` / ``offers*.xml`` (``prices*``, ``rests*``) file in
    document order; nested groups come child first (their parent's Ид is known).
    A ``Каталог`` yields a ``CatalogHeader`` first (full catalog or changes only).

    ``skip``: the first products/offers are passed over without being built (a file
    imported in steps resumes here; building what is skipped cost most of a step)."""
    items = 0
    for event, el in safe_events(source, CATALOG_TAGS):
        name = _local(el)
        if event == "start":
            if name == "Каталог":
                only = (el.get("СодержитТолькоИзменения") or "").strip().lower() == "true"
                yield CatalogHeader(only_changes=only)
            continue
        handler = _HANDLERS.get(name)
        if handler is None or _parent_local(el) != handler[0]:
            continue
        if name == "Товар" or name == "Предложение":
            # Products also appear in documents (orders): only the catalog's count here.
            if name == "Товар" and _parent_local(el, 2) not in ("Каталог", ""):
                continue
            items += 1
            if items <= skip:
                forget(el)
                continue
        record = handler[1](el)
        if record is not None:
            yield record
        if name != "Группа":  # a group's parent still needs its own Ид later
            forget(el)


def read_item_ids(source: str | Path | BinaryIO) -> Iterator[str]:
    """The Ид of a catalog file's products and offers (a variant's as its product's,
    "<product>#<variant>" -> "<product>"), nothing else built: what a full
    exchange carried, for ``deactivate``."""
    for event, el in safe_events(source, ("Товар", "Предложение")):
        if event != "end":
            continue
        name, parent = _local(el), _parent_local(el)
        catalog = name == "Товар" and parent == "Товары" and _parent_local(el, 2) in ("Каталог", "")
        if catalog or (name == "Предложение" and parent == "Предложения"):
            ext = _value(_fields(el).get("Ид"))
            if ext:
                yield ext.split("#")[0]
        forget(el)
