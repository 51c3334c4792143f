"""The «Счёт на оплату» PDF: bank requisites, parties, lines, totals, amount in words.

Cyrillic needs an embedded TrueType font; one is taken from the system fonts
(Debian: ``fonts-dejavu-core``), never copied into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from crm_core.invoices.words import plural, rubles_in_words
from crm_core.models import Customer, Invoice, InvoiceLine, Order
from crm_core.numbering import FIRM_TIMEZONE

FONT_CANDIDATES = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
    ),
    ("/usr/share/fonts/truetype/freefont/FreeSans.ttf", "FreeSansBold.ttf"),
]
MONTHS = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
LEFT, WIDTH = 15.0, 180.0


def find_font() -> tuple[str, str]:
    """(regular, bold) TTF paths with Cyrillic glyphs found on this machine."""
    for regular, bold_name in FONT_CANDIDATES:
        if os.path.exists(regular):
            bold = os.path.join(os.path.dirname(regular), bold_name)
            return regular, bold if os.path.exists(bold) else regular
    raise RuntimeError(
        "No Cyrillic TrueType font found for PDF documents: install fonts-dejavu-core"
    )


def rub(value: Decimal) -> str:
    """1250.5 → «1 250,50»."""
    return f"{Decimal(value):,.2f}".replace(",", " ").replace(".", ",")


def qty(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}".replace(".", ",")


def long_date(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} г."


class _Doc(FPDF):
    def __init__(self, fonts: tuple[str, str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font("Doc", "", fonts[0])
        self.add_font("Doc", "B", fonts[1])
        self.set_margins(LEFT, 15, 15)
        self.set_auto_page_break(True, margin=15)
        self.add_page()

    def font(self, size: float = 9, bold: bool = False) -> None:
        self.set_font("Doc", "B" if bold else "", size)

    def box(self, x: float, y: float, w: float, h: float, text: str, label: str = "") -> None:
        """A bordered cell with text at the top and a small caption at the bottom."""
        self.rect(x, y, w, h)
        self.set_xy(x + 1, y + 0.8)
        self.font(9)
        self.multi_cell(w - 2, 4, text, align="L")
        if label:
            self.font(7)
            self.set_xy(x + 1, y + h - 4)
            self.cell(w - 2, 3.5, label)


def _bank_block(pdf: _Doc, firm: Mapping[str, str]) -> None:
    x, y = LEFT, pdf.get_y()
    a, b, c = 95.0, 20.0, 65.0
    pdf.box(x, y, a, 12, firm.get("bank", ""), "Банк получателя")
    pdf.box(x + a, y, b, 6, "БИК")
    pdf.box(x + a + b, y, c, 6, firm.get("bik", ""))
    pdf.box(x + a, y + 6, b, 6, "Сч. №")
    pdf.box(x + a + b, y + 6, c, 6, firm.get("corr_account", ""))
    pdf.box(x, y + 12, a / 2, 6, f"ИНН {firm.get('inn', '')}")
    pdf.box(x + a / 2, y + 12, a / 2, 6, f"КПП {firm.get('kpp', '')}")
    pdf.box(x, y + 18, a, 14, firm.get("name", ""), "Получатель")
    pdf.box(x + a, y + 12, b, 20, "Сч. №")
    pdf.box(x + a + b, y + 12, c, 20, firm.get("account", ""))
    pdf.set_xy(LEFT, y + 36)


def _party(pdf: _Doc, label: str, text: str) -> None:
    pdf.font(9)
    pdf.set_x(LEFT)
    pdf.cell(28, 5, label)
    pdf.font(9, bold=True)
    pdf.multi_cell(WIDTH - 28, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)


def _requisites(name: str, *parts: tuple[str, str | None]) -> str:
    return ", ".join([name, *(f"{label}{value}" for label, value in parts if value)])


def _columns(lines: Sequence[InvoiceLine]) -> list[tuple[str, float, str]]:
    if any(line.discount_percent for line in lines):
        return [
            ("№", 8, "C"),
            ("Товары (работы, услуги)", 62, "L"),
            ("Кол-во", 16, "R"),
            ("Ед.", 12, "C"),
            ("Цена", 25, "R"),
            ("Скидка, %", 22, "R"),
            ("Сумма", 35, "R"),
        ]
    return [
        ("№", 8, "C"),
        ("Товары (работы, услуги)", 84, "L"),
        ("Кол-во", 18, "R"),
        ("Ед.", 12, "C"),
        ("Цена", 27, "R"),
        ("Сумма", 31, "R"),
    ]


def _row_height(pdf: _Doc, columns, values: Sequence[str]) -> float:
    return max(
        len(pdf.multi_cell(w - 2, 4, v, dry_run=True, output="LINES")) * 4 + 2
        for (_, w, _), v in zip(columns, values, strict=True)
    )


def _row(pdf: _Doc, columns, values: Sequence[str], *, bold: bool = False) -> None:
    pdf.font(8.5, bold=bold)
    height = _row_height(pdf, columns, values)
    x, y = LEFT, pdf.get_y()
    for (_, w, align), value in zip(columns, values, strict=True):
        pdf.rect(x, y, w, height)
        pdf.set_xy(x + 1, y + 1)
        pdf.multi_cell(w - 2, 4, value, align=align)
        x += w
    pdf.set_xy(LEFT, y + height)


def _table(pdf: _Doc, lines: Sequence[InvoiceLine]) -> None:
    columns = _columns(lines)
    header = [title for title, _, _ in columns]
    _row(pdf, columns, header, bold=True)
    discounts = len(columns) == 7
    for i, line in enumerate(lines, start=1):
        values = [str(i), line.name, qty(line.quantity), line.unit, rub(line.price)]
        if discounts:
            values.append(qty(line.discount_percent) if line.discount_percent else "")
        values.append(rub(line.amount))
        pdf.font(8.5)
        if pdf.get_y() + _row_height(pdf, columns, values) > pdf.page_break_trigger:
            pdf.add_page()  # the table goes on with its header repeated
            _row(pdf, columns, header, bold=True)
        _row(pdf, columns, values)


def _totals(pdf: _Doc, invoice: Invoice) -> None:
    rates = {line.vat_rate for line in invoice.lines if line.vat_rate}
    vat_label = "В том числе НДС:" if invoice.vat_amount or rates else "Без налога (НДС)"
    if len(rates) == 1:
        vat_label = f"В том числе НДС {qty(rates.pop())}%:"
    rows = [
        ("Итого:", rub(invoice.total)),
        (vat_label, rub(invoice.vat_amount) if vat_label != "Без налога (НДС)" else "—"),
        ("Всего к оплате:", rub(invoice.total)),
    ]
    pdf.ln(1)
    for label, value in rows:
        pdf.font(9, bold=True)
        pdf.set_x(LEFT)
        pdf.cell(WIDTH - 35, 5, label, align="R")
        pdf.cell(35, 5, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_invoice_pdf(
    invoice: Invoice,
    order: Order,
    customer: Customer,
    firm: Mapping[str, str],
    *,
    timezone: str = FIRM_TIMEZONE,
    fonts: tuple[str, str] | None = None,
) -> bytes:
    """The invoice as a PDF (A4) in Russian; ``invoice.lines`` must be loaded."""
    pdf = _Doc(fonts or find_font())
    title = f"Счёт на оплату № {invoice.number} от {long_date(invoice.date, timezone)}"
    pdf.set_title(f"Счёт на оплату № {invoice.number}")
    pdf.set_subject(invoice.number)
    pdf.set_creator("Firma")
    _bank_block(pdf, firm)
    pdf.font(14, bold=True)
    pdf.multi_cell(WIDTH, 7, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_line_width(0.6)
    pdf.line(LEFT, pdf.get_y() + 1, LEFT + WIDTH, pdf.get_y() + 1)
    pdf.set_line_width(0.2)
    pdf.ln(4)
    supplier = _requisites(
        firm.get("name", ""),
        ("ИНН ", firm.get("inn")),
        ("КПП ", firm.get("kpp")),
        ("", firm.get("address")),
        ("тел.: ", firm.get("phone")),
    )
    buyer = _requisites(
        customer.legal_name or customer.name,
        ("ИНН ", customer.inn),
        ("КПП ", customer.kpp),
        ("", customer.address),
    )
    _party(pdf, "Поставщик:", supplier)
    _party(pdf, "Покупатель:", buyer)
    _party(pdf, "Основание:", f"Заказ № {order.number} от {long_date(order.date, timezone)}")
    pdf.ln(1)
    _table(pdf, invoice.lines)
    _totals(pdf, invoice)
    pdf.ln(2)
    count = len(invoice.lines)
    names = plural(count, ("наименование", "наименования", "наименований"))
    pdf.font(9)
    pdf.set_x(LEFT)
    pdf.cell(WIDTH, 5, f"Всего {count} {names}, на сумму {rub(invoice.total)} руб.")
    pdf.ln(5)
    pdf.font(9, bold=True)
    pdf.multi_cell(WIDTH, 5, rubles_in_words(invoice.total), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.font(8)
    if invoice.due_at:
        due = invoice.due_at.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y")
        pdf.cell(WIDTH, 4.5, f"Оплатить не позднее {due}.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(
        WIDTH,
        4.5,
        "Оплата данного счёта означает согласие с условиями поставки товара. "
        f"В назначении платежа, пожалуйста, укажите номер счёта {invoice.number}.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_line_width(0.6)
    pdf.line(LEFT, pdf.get_y() + 2, LEFT + WIDTH, pdf.get_y() + 2)
    pdf.set_line_width(0.2)
    pdf.ln(10)
    pdf.font(9, bold=True)
    for role, key in (("Руководитель", "director"), ("Бухгалтер", "accountant")):
        pdf.set_x(LEFT)
        pdf.cell(30, 5, role)
        pdf.font(9)
        pdf.cell(50, 5, "", border="B")
        pdf.cell(60, 5, f"  {firm.get(key) or ''}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.font(9, bold=True)
        pdf.ln(6)
    return bytes(pdf.output())
