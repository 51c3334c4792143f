"""Offers and contracts as PDF, from the same HTML the template renders.

fpdf2 (already used for invoices) over WeasyPrint: it is pure Python with no
Cairo/Pango system libraries, it embeds the same system TrueType font the invoice
uses (so the documents share one look and Cyrillic renders), and its ``write_html``
covers what managers' offers need — headings, paragraphs, bold, lists and tables.
"""

from __future__ import annotations

from collections.abc import Mapping

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from crm_core.invoices.pdf import LEFT, WIDTH, find_font


class _Document(FPDF):
    def __init__(self, fonts: tuple[str, str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font("Doc", "", fonts[0])
        self.add_font("Doc", "B", fonts[1])
        # write_html asks for italic faces too; the regular/bold files stand in.
        self.add_font("Doc", "I", fonts[0])
        self.add_font("Doc", "BI", fonts[1])
        self.set_margins(LEFT, 15, 15)
        self.set_auto_page_break(True, margin=15)
        self.add_page()


def _firm_line(firm: Mapping[str, str]) -> str:
    parts = [
        firm.get("name", ""),
        f"ИНН {firm['inn']}" if firm.get("inn") else "",
        f"КПП {firm['kpp']}" if firm.get("kpp") else "",
        firm.get("address", ""),
        f"тел.: {firm['phone']}" if firm.get("phone") else "",
        firm.get("email", ""),
    ]
    return ", ".join(p for p in parts if p)


def render_document_pdf(
    title: str, html: str, firm: Mapping[str, str], *, fonts: tuple[str, str] | None = None
) -> bytes:
    """An A4 PDF: the firm's requisites as a header rule, the title, then the HTML body."""
    pdf = _Document(fonts or find_font())
    pdf.set_title(title)
    pdf.set_creator("Firma")
    line = _firm_line(firm)
    if line:
        pdf.set_font("Doc", "", 8)
        pdf.multi_cell(WIDTH, 4, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_line_width(0.6)
        pdf.line(LEFT, pdf.get_y() + 1, LEFT + WIDTH, pdf.get_y() + 1)
        pdf.set_line_width(0.2)
        pdf.ln(4)
    if title:
        pdf.set_font("Doc", "B", 14)
        pdf.multi_cell(WIDTH, 7, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    pdf.set_font("Doc", "", 10)
    pdf.write_html(html, font_family="Doc")
    return bytes(pdf.output())
