"""CommerceML catalog exchange at 50,000 products: import through ``/exchange/1c`` and
export (the catalog and offers Firma writes for a store), beside the floor — the same
XML read with a bare lxml ``iterparse`` loop and written with a bare ``xmlfile`` loop.

A program, not a test: ``.venv/bin/python bench/commerceml.py [--products 50000]
[--backends sqlite,postgresql]``. Each phase runs in a child process of its own so its
peak RSS (``ru_maxrss``) is its own. PostgreSQL: database ``firma_h5_bench``
(``FIRMA_BENCH_DATABASE_URL`` overrides).

- floor read: ``iterparse`` over import.xml and offers.xml, each product/offer element
  touched and cleared (what any streaming reader must do at least).
- import: 1C's protocol against the real endpoint in-process (httpx ASGI transport):
  checkauth, init, the files in 8 MB chunks, ``import`` until ``success`` (5,000
  records per call), into an empty database.
- floor write: ``xmlfile`` writing the same elements from tuples made on the fly (it
  also makes the input files).
- floor write, Firma's XML: the same bare loop writing the elements Firma's export
  wrote (read back into tuples before the clock): the floor for the export's aim,
  since Firma's files carry more than the input (units, VAT, requisites).
- export: Firma's writer from the database (products with their properties, then with
  their prices and stock: one joined query each, streamed) to import.xml and offers.xml.
- store run: the whole client run (export, upload in chunks, import loop, orders query)
  against the fake store on 127.0.0.1 (which discards what it gets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h5_bench"
)

from lxml import etree

from bench.common import table

GROUPS = 50
PASSWORD = "bench-password"
EMPTY_ORDERS = (
    '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.08"/>'
).encode()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _product(n: int) -> etree._Element:
    el = etree.Element("Товар")
    etree.SubElement(el, "Ид").text = f"p{n}"
    etree.SubElement(el, "Артикул").text = f"SKU-{n}"
    etree.SubElement(el, "Наименование").text = f"Товар номер {n}"
    etree.SubElement(el, "БазоваяЕдиница", {"Код": "796"}).text = "шт"
    etree.SubElement(etree.SubElement(el, "Группы"), "Ид").text = f"g{n % GROUPS}"
    etree.SubElement(el, "Описание").text = "Описание товара " * 5
    value = etree.SubElement(etree.SubElement(el, "ЗначенияСвойств"), "ЗначенияСвойства")
    etree.SubElement(value, "Ид").text = "color"
    etree.SubElement(value, "Значение").text = ("красный", "синий")[n % 2]
    return el


def _offer(n: int) -> etree._Element:
    el = etree.Element("Предложение")
    etree.SubElement(el, "Ид").text = f"p{n}"
    prices = etree.SubElement(el, "Цены")
    for code, value in (("t1", 100 + n % 900), ("t2", 90 + n % 800)):
        price = etree.SubElement(prices, "Цена")
        etree.SubElement(price, "ИдТипаЦены").text = code
        etree.SubElement(price, "ЦенаЗаЕдиницу").text = f"{value}.50"
    etree.SubElement(el, "Количество").text = str(n % 50)
    return el


def _classifier() -> etree._Element:
    classifier = etree.Element("Классификатор")
    etree.SubElement(classifier, "Ид").text = "c"
    groups = etree.SubElement(classifier, "Группы")
    for g in range(GROUPS):
        group = etree.SubElement(groups, "Группа")
        etree.SubElement(group, "Ид").text = f"g{g}"
        etree.SubElement(group, "Наименование").text = f"Группа {g}"
    prop = etree.SubElement(etree.SubElement(classifier, "Свойства"), "Свойство")
    etree.SubElement(prop, "Ид").text = "color"
    etree.SubElement(prop, "Наименование").text = "Цвет"
    return classifier


def floor_write(directory: Path, products: int) -> None:
    """The bare ``xmlfile`` loop; also how the benchmark's input files are made."""
    root = {"ВерсияСхемы": "2.08"}
    with etree.xmlfile(str(directory / "import.xml"), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("КоммерческаяИнформация", root):
            xf.write(_classifier())
            with (
                xf.element("Каталог", {"СодержитТолькоИзменения": "false"}),
                xf.element("Товары"),
            ):
                for n in range(products):
                    xf.write(_product(n))
    with etree.xmlfile(str(directory / "offers.xml"), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("КоммерческаяИнформация", root), xf.element("ПакетПредложений"):
            kinds = etree.Element("ТипыЦен")
            for code, name in (("t1", "Розничная"), ("t2", "Оптовая")):
                kind = etree.SubElement(kinds, "ТипЦены")
                etree.SubElement(kind, "Ид").text = code
                etree.SubElement(kind, "Наименование").text = name
            xf.write(kinds)
            with xf.element("Предложения"):
                for n in range(products):
                    xf.write(_offer(n))


def _spec(el: etree._Element) -> tuple:
    """An element as plain data: (tag, attributes, text, children, holds a long list)."""
    children = [_spec(child) for child in el]
    long = len(children) > 100 or any(child[4] for child in children)
    return etree.QName(el).localname, dict(el.attrib), el.text, children, long


def _build(spec: tuple) -> etree._Element:
    tag, attrib, text, children, _long = spec
    el = etree.Element(tag, attrib)
    el.text = text
    for child in children:
        el.append(_build(child))
    return el


def _emit(xf, spec: tuple) -> None:
    tag, attrib, _text, children, long = spec
    if not long:
        xf.write(_build(spec))
        return
    with xf.element(tag, attrib):
        for child in children:
            _emit(xf, child)


def floor_write_export(directory: Path) -> dict:
    """The bare ``xmlfile`` loop writing the XML Firma's export wrote (elements built on
    the fly from plain tuples, as ``floor_write`` does for the input files). The tuples
    are read from Firma's files before the clock; namespaces and whitespace tails are
    left out, so the floor writes slightly less than Firma did."""
    out = directory / "floor-export"
    out.mkdir(exist_ok=True)
    specs = {n: _spec(etree.parse(str(directory / "export" / n)).getroot()) for n in EXPORTED}
    start, cpu = time.perf_counter(), time.process_time()
    for name, spec in specs.items():
        with etree.xmlfile(str(out / name), encoding="utf-8") as xf:
            xf.write_declaration()
            _emit(xf, spec)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


EXPORTED = ("import.xml", "offers.xml")


def floor_read(directory: Path) -> int:
    count = 0
    for name, tag in (("import.xml", "Товар"), ("offers.xml", "Предложение")):
        for _, el in etree.iterparse(str(directory / name), events=("end",), tag=tag):
            count += len(el)
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del el.getparent()[0]
    return count


async def _engine(url: str, fresh: bool):
    from bench.common import ensure_pg_database
    from crm_core import migrate
    from crm_core.db import create_engine, session_factory
    from crm_core.reference import ensure_reference_data

    if url.startswith("postgresql") and fresh:
        await ensure_pg_database(url)
    engine = create_engine(url)
    if fresh:
        if url.startswith("postgresql"):
            async with engine.begin() as conn:
                await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                await conn.exec_driver_sql("CREATE SCHEMA public")
        await migrate.upgrade(engine)
        async with session_factory(engine)() as session:
            await ensure_reference_data(session)
            await session.commit()
    return engine, session_factory(engine)


async def firma_import(directory: Path, url: str) -> dict:
    import httpx
    from fastapi import FastAPI

    from channels.onec import onec_router
    from channels.onec_files import OnecConfig
    from crm_core.context import SystemClock
    from crm_core.db import unit_of_work
    from crm_core.exchange.settings import set_exchange_settings
    from tests.channels.onec_client import FakeOneC

    engine, sessions = await _engine(url, fresh=True)
    async with unit_of_work(sessions) as session:
        values = {"login": "1c", "password": PASSWORD, "enabled": True}
        await set_exchange_settings(session, values)
    config = OnecConfig(secret_key="bench", data_dir=str(directory / "exchange"))
    app = FastAPI()
    app.include_router(onec_router(sessions, config, clock=SystemClock()))
    start, cpu = time.perf_counter(), time.process_time()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://b", timeout=600) as c:
        answers = await _send_from_disk(FakeOneC(c, "1c", PASSWORD), directory)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    await engine.dispose()
    assert answers[-1] == "success\n", answers[-3:]
    return {"seconds": seconds, "cpu": cpu, "calls": len(answers)}


async def _send_from_disk(onec, directory: Path) -> list[str]:
    """1C's exchange with the files read one ``file_limit`` chunk at a time (as 1C
    does), so the client side adds no 50 MB to the measured peak."""
    assert (await onec.checkauth()).text.startswith("success")
    await onec.init()
    names = ("import.xml", "offers.xml")
    for name in names:
        with (directory / name).open("rb") as fh:
            while chunk := fh.read(onec.file_limit):
                response = await onec.call("file", method="POST", content=chunk, filename=name)
                assert response.text.startswith("success"), response.text
    answers = []
    for name in names:
        while True:
            answer = (await onec.call("import", filename=name)).text
            answers.append(answer)
            if not answer.startswith("progress"):
                break
    return answers


async def firma_export(directory: Path, url: str) -> dict:
    from sqlalchemy.orm import configure_mappers

    from channels.commerceml.writer import write_catalog, write_offers
    from crm_core.db import unit_of_work
    from crm_core.exchange.catalog_export import (
        export_groups,
        export_offers,
        export_price_types,
        export_products,
        export_properties,
    )

    engine, sessions = await _engine(url, fresh=False)
    out = directory / "export"
    out.mkdir(exist_ok=True)
    # Once per process, not per exchange: a running server has done it long before
    # (the import phase does it in ``_engine``'s reference data, before its clock).
    configure_mappers()
    start, cpu = time.perf_counter(), time.process_time()
    async with unit_of_work(sessions) as session:
        count = await write_catalog(
            str(out / "import.xml"),
            groups=await export_groups(session),
            properties=await export_properties(session),
            products=export_products(session),
            catalog_id="c",
        )
    async with unit_of_work(sessions) as session:
        price_types = await export_price_types(session)
        await write_offers(
            str(out / "offers.xml"),
            price_types=price_types,
            offers=export_offers(session),
            catalog_id="c",
        )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    await engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "products": count}


async def store_run(directory: Path, url: str) -> dict:
    from channels.stores.runner import StoreExchangeRunner, StoreRunConfig
    from crm_core.db import unit_of_work
    from crm_core.exchange.stores import create_store
    from tests.channels.fake_store import FakeStore

    engine, sessions = await _engine(url, fresh=False)
    fake = await FakeStore(discard=True, file_limit=8 * 2**20, orders=EMPTY_ORDERS).start()
    async with unit_of_work(sessions) as session:
        values = {"name": "b", "exchange_url": fake.url, "login": fake.login}
        await create_store(session, {**values, "password": fake.password}, secret_key="bench")
    config = StoreRunConfig(secret_key="bench", work_dir=str(directory / "stores"))
    start = time.perf_counter()
    ran = await StoreExchangeRunner(sessions, config).run_once()
    seconds = time.perf_counter() - start
    await fake.stop()
    await engine.dispose()
    assert ran == 1 and fake.imported == ["import.xml", "offers.xml"], fake.calls[-3:]
    return {"seconds": seconds, "chunks": len(fake.chunks)}


def phase(name: str, directory: Path, url: str, products: int) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    if name == "floor-write":
        floor_write(directory, products)
        result: dict = {}
    elif name == "floor-write-export":
        result = floor_write_export(directory)
    elif name == "floor-read":
        result = {"elements": floor_read(directory)}
    elif name == "import":
        result = asyncio.run(firma_import(directory, url))
    elif name == "export":
        result = asyncio.run(firma_export(directory, url))
    else:
        result = asyncio.run(store_run(directory, url))
    result.setdefault("seconds", time.perf_counter() - start)
    result.setdefault("cpu", time.process_time() - cpu)
    result["rss_mb"] = _rss_mb()
    return result


def child(name: str, directory: Path, url: str, products: int) -> dict:
    command = [sys.executable, __file__, "--phase", name, "--dir", str(directory)]
    command += ["--url", url, "--products", str(products)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"phase {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _best(runs: list[dict]) -> dict:
    return {key: min(r[key] for r in runs) for key in ("seconds", "cpu", "rss_mb")}


def _row(what: str, db: str, got: dict, floor: dict | None = None, name: str = "") -> list:
    """A table row; CPU seconds are this process's own (the database server's are
    not in them), far less moved by the other sessions' load than wall seconds."""
    ratios = ["", ""]
    if floor is not None:
        ratios = [
            f"{got['seconds'] / floor['seconds']:.1f} × {name}",
            f"{got['cpu'] / floor['cpu']:.1f} × {name}",
        ]
    cpu = f"{got['cpu']:.2f}"
    return [what, db, f"{got['seconds']:.2f}", cpu, f"{got['rss_mb']:.0f}", *ratios]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--phase")
    parser.add_argument("--dir")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.dir), args.url, args.products)))
        return
    directory = Path(tempfile.mkdtemp(prefix="firma-bench-commerceml-"))
    now = datetime.now(UTC)
    print(f"{now:%Y-%m-%d %H:%M} UTC, {args.products} products, {os.cpu_count()} cores")
    # The floors are short and the machine shared: the best of three of each.
    write = _best([child("floor-write", directory, "", args.products) for _ in range(3)])
    read = _best([child("floor-read", directory, "", args.products) for _ in range(3)])
    size = sum((directory / n).stat().st_size for n in ("import.xml", "offers.xml")) / 2**20
    rows = [_row("floor read (iterparse)", "-", read), _row("floor write (xmlfile)", "-", write)]
    same = None  # the floor of writing Firma's own output, once its export exists
    for backend in args.backends.split(","):
        url = (
            os.environ["FIRMA_BENCH_DATABASE_URL"]
            if backend == "postgresql"
            else f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        )
        imported = child("import", directory, url, args.products)
        exported = child("export", directory, url, args.products)
        if same is None:
            same = _best([child("floor-write-export", directory, "", 0) for _ in range(3)])
            out = sum((directory / "export" / n).stat().st_size for n in EXPORTED) / 2**20
            rows.insert(2, _row("floor write (xmlfile), Firma's XML", "-", same))
        run = child("store-run", directory, url, args.products)
        rows += [
            _row("import via /exchange/1c", backend, imported, read, "floor read"),
            _row("export DB → import.xml + offers.xml", backend, exported, write, "floor write"),
            _row("  the same, beside Firma's XML written bare", backend, exported, same, "same"),
            _row("store run (export + upload + import)", backend, run),
        ]
    print(f"input: import.xml + offers.xml = {size:.1f} MB; exported: {out:.1f} MB")
    head = ["what", "db", "seconds", "CPU s", "peak RSS MB", "ratio (wall)", "ratio (CPU)"]
    print(table("CommerceML exchange", head, rows))


if __name__ == "__main__":
    main()
