"""The CommerceML reader on real exports, other encodings and hostile files."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal

import pytest

from channels.commerceml import UnsafeXML, read_catalog
from crm_core.exchange.records import GroupRecord, OfferRecord, PriceTypeRecord, ProductRecord
from tests.channels.onec_client import fixture

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<КоммерческаяИнформация ВерсияСхемы="2.07"><Каталог><Товары><Товар><Ид>1</Ид>
<Наименование>&lol4;</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>
""".encode()
XXE = """<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<КоммерческаяИнформация ВерсияСхемы="2.07"><Каталог><Товары><Товар><Ид>1</Ид>
<Наименование>&xxe;</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>
""".encode()


def kinds(records) -> Counter:
    return Counter(type(r).__name__ for r in records)


def test_real_catalog_export():
    records = list(read_catalog(io.BytesIO(fixture("import0_1.xml"))))
    products = [r for r in records if isinstance(r, ProductRecord)]
    assert kinds(records)["GroupRecord"] == 1
    first = products[0]
    assert first.external_id == "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1"
    assert first.sku == "PM-421-WP"
    assert first.unit == "шт"  # ОКЕИ 796
    assert first.group_external_ids == ["82cfb8dc-18f9-11e7-80c2-0cc47ab29cd1"]
    assert first.vat_rate == Decimal(20)
    assert first.properties["8d11c16f-1d64-11e9-80c9-0cc47ab29cd1"] == "149831179"
    assert not first.is_service


def test_nested_groups_know_their_parent():
    records = list(read_catalog(io.BytesIO(fixture("import0_1_with_nested_groups.xml"))))
    groups = {r.external_id: r for r in records if isinstance(r, GroupRecord)}
    child = groups["82cfb8dc-18f9-11e7-80c2-0cc47ab29cd1"]
    assert child.parent_external_id == "94878333-8068-11ea-80c9-0cc47ab29cd1"
    assert groups[child.parent_external_id].name == "Детские товары"
    assert groups[child.parent_external_id].parent_external_id is None
    assert kinds(records)["ProductRecord"] == 283


def test_offers_prices_and_stock():
    records = list(read_catalog(io.BytesIO(fixture("offers0_1.xml"))))
    assert [r.name for r in records if isinstance(r, PriceTypeRecord)] == ["BASE"]
    offer = next(r for r in records if isinstance(r, OfferRecord))
    assert offer.prices == {"279b6812-740b-11e8-80c8-0cc47ab29cd1": Decimal(100)}
    assert offer.quantity == Decimal(377)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_and_without_bom(bom):
    data = fixture("offers0_1.xml").removeprefix(b"\xef\xbb\xbf")
    assert kinds(read_catalog(io.BytesIO(bom + data)))["OfferRecord"] == 44


def test_windows_1251_and_schema_2_10_rests():
    text = """<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация ВерсияСхемы="2.10"><ПакетПредложений><Предложения>
<Предложение><Ид>p1</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены>
<ЦенаЗаЕдиницу>1 200,50</ЦенаЗаЕдиницу></Цена></Цены>
<Остатки><Остаток><Склад><Ид>s1</Ид><Количество>3</Количество></Склад></Остаток>
<Остаток><Склад><Ид>s2</Ид><Количество>4,5</Количество></Склад></Остаток></Остатки>
</Предложение><Предложение><Ид>p2</Ид></Предложение>
</Предложения></ПакетПредложений></КоммерческаяИнформация>"""
    first, second = read_catalog(io.BytesIO(text.encode("cp1251")))
    assert first.prices == {"t": Decimal("1200.50")}
    assert first.quantity == Decimal("7.5")
    assert second.prices is None and second.quantity is None  # "leave as is"


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_dtd_is_refused_before_anything_is_read(payload):
    with pytest.raises(UnsafeXML):
        list(read_catalog(io.BytesIO(payload)))


@pytest.mark.parametrize("reader", ["catalog", "documents"])
def test_dtd_is_refused_even_without_a_single_known_element(reader):
    from channels.commerceml.documents import read_documents

    payload = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'
    read = read_catalog if reader == "catalog" else read_documents
    with pytest.raises(UnsafeXML):
        list(read(io.BytesIO(payload)))
