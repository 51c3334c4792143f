"""The CommerceML writer's catalog: products and offers copied from the template of
their shape come out byte for byte as when built element by element, valid against
the 2.08 schema, and read back into the same records."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal

from lxml import etree

from channels.commerceml import read_catalog, writer
from crm_core.exchange.records import GroupRecord, OfferRecord, ProductRecord, PropertyRecord
from tests.channels.onec_client import FIXTURES

XSD = etree.XMLSchema(etree.parse(str(FIXTURES / "commerceml-2.08.xsd")))
GROUPS = [GroupRecord("g1", "Одна"), GroupRecord("g2", "Другая"), GroupRecord("g3", "Третья")]
PROPERTIES = [PropertyRecord("color", "Цвет"), PropertyRecord("size", "Размер")]


def products() -> list[ProductRecord]:
    """Every combination of the optional parts, each shape twice with other texts
    (the second copy of a template must not carry the first one's texts)."""
    out = []
    shapes = itertools.product(
        (None, "SKU"),
        (None, "шт", "кг", "коробка"),
        ([], ["g1"], ["g1", "g2", "g3"]),
        (None, "Описание & <подробно>"),
        (None, "import_files/a/b.jpg"),
        ({}, {"color": "красный", "size": ""}),
        (None, Decimal("20.00"), Decimal("0")),
        (False, True),
    )
    for n, (sku, unit, groups, description, image, props, vat, service) in enumerate(shapes):
        for copy in ("а", "б"):
            out.append(
                ProductRecord(
                    external_id=f"p{n}{copy}",
                    name=f"Товар {n} {copy}",
                    sku=f"{sku}-{n}{copy}" if sku else None,
                    unit=unit,
                    description=f"{description} {copy}" if description else None,
                    image=image,
                    group_external_ids=groups,
                    properties={k: f"{v}{copy}" if v else v for k, v in props.items()},
                    vat_rate=vat,
                    is_service=service,
                )
            )
    return out


async def test_products_from_templates_are_the_same_bytes_as_built_ones():
    items = products()
    for record in items:
        built = etree.tostring(writer._build_product(record))
        assert etree.tostring(writer._product_el(record)) == built, record


async def test_offers_from_templates_are_the_same_bytes_as_built_ones():
    currencies = {"t1": "RUB", "t2": "USD"}
    shapes = itertools.product(
        ({}, {"t1": Decimal("10.5")}, {"t1": Decimal("1"), "t2": Decimal("1234567.891")}),
        (None, Decimal("0"), Decimal("12.500")),
    )
    for n, (prices, quantity) in enumerate(shapes):
        for copy in ("a", "b"):
            record = OfferRecord(f"o{n}{copy}", dict(prices), quantity)
            built = etree.tostring(writer._build_offer(record, currencies))
            assert etree.tostring(writer._offer_el(record, currencies)) == built, record


async def test_a_written_catalog_is_valid_and_reads_back():
    items = products()
    out = io.BytesIO()
    count = await writer.write_catalog(
        out, groups=GROUPS, properties=PROPERTIES, products=items, catalog_id="c"
    )
    assert count == len(items)
    XSD.assertValid(etree.fromstring(out.getvalue()))
    back = [r for r in read_catalog(io.BytesIO(out.getvalue())) if isinstance(r, ProductRecord)]
    assert [r.external_id for r in back] == [r.external_id for r in items]
    for sent, got in zip(items, back, strict=True):
        assert (got.name, got.sku, got.description, got.image) == (
            sent.name,
            sent.sku,
            sent.description,
            sent.image,
        )
        assert got.group_external_ids == sent.group_external_ids
        assert got.unit == (sent.unit or "шт")
        assert got.vat_rate == sent.vat_rate
        assert got.is_service is sent.is_service
        assert {k: v for k, v in got.properties.items() if v} == {
            k: v for k, v in sent.properties.items() if v
        }
