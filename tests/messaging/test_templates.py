from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.customers.persons import create_contact_person
from crm_core.errors import ValidationFailed
from crm_core.invoices.firm import set_firm
from crm_core.orders.service import LineInput
from messaging.context import date_ru, money, money_words
from messaging.sandbox import TemplateRefused, render
from messaging.templates import create_template, render_template, update_template
from tests.factories.commerce import make_order
from tests.factories.people import make_customer

OFFER = """<h1>КП для {{ customer.name }}</h1>
<p>{{ contact.name }}, {{ contact.position }}</p>
<table>{% for line in order.lines %}
<tr><td>{{ line.position }}</td><td>{{ line.name }}</td><td>{{ line.amount | money }}</td></tr>
{% endfor %}</table>
<p>Итого: {{ order.total | money }} ({{ order.total | money_words }})</p>
<p>{{ firm.name }}, ИНН {{ firm.inn }}, {{ today | date_ru }}</p>"""


def test_filters() -> None:
    assert money(Decimal("1250")) == "1 250,00 ₽"
    assert money_words(Decimal("1250.50")).startswith("Одна тысяча двести пятьдесят рублей")
    from tests.conftest import START

    assert date_ru(START) == "2 марта 2026 г."


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ''.__class__ }}", "not allowed"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
        ("{{ customer.__init__ }}", "not allowed"),
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", "loop"),
        ("{{ 'x' * 1000000000 }}", "too long"),
        ("{{ 9 ** 99999999 }}", "exponent"),
        ("{% for i in range(20000) %}{{ 'y' * 99999 }}{% endfor %}", "longer than"),
        # Loops over data (a list, the order's lines) count too, not only range().
        (
            "{% set x = [0] * 1000 %}{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}",
            "loop iterations",
        ),
        (
            "{% for a in customer.name * 5000 %}{% for b in 'y' * 9 %}{% endfor %}{% endfor %}",
            "loop",
        ),
    ],
)
def test_sandbox_refuses_escapes_and_huge_work(source: str, message: str) -> None:
    with pytest.raises(TemplateRefused, match=message):
        render(source, {"customer": {"name": "A"}}, autoescape=True)


def test_html_kinds_are_autoescaped_text_kinds_are_not() -> None:
    context = {"customer": {"name": "<b>Tom & Jerry</b>"}}
    assert render("{{ customer.name }}", context, autoescape=True) == (
        "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"
    )
    assert render("{{ customer.name }}", context, autoescape=False) == "<b>Tom & Jerry</b>"
    assert render("{{ order.number }}", {}, autoescape=True) == ""  # no order: blank


async def test_render_offer_with_order_lines_firm_and_contact(session) -> None:
    await set_firm(session, {"name": "ООО Ромашка", "inn": "7707083893"})
    customer = await make_customer(session, name="ИП Иванов", emails=["ivanov@example.com"])
    await create_contact_person(session, customer.id, name="Пётр Иванов", position="директор")
    order = await make_order(
        session,
        customer=customer,
        lines=[
            LineInput(None, Decimal(2), Decimal("500.00"), name="Стол"),
            LineInput(None, Decimal(1), Decimal("250.00"), name="Стул"),
        ],
    )
    template = await create_template(
        session, kind="offer", name="КП", subject="КП № {{ order.number }}", body=OFFER
    )
    rendered = await render_template(
        session, template.id, customer_id=customer.id, order_id=order.id
    )
    assert rendered.subject == f"КП № {order.number}"
    assert "<h1>КП для ИП Иванов</h1>" in rendered.html
    assert "Пётр Иванов, директор" in rendered.html
    assert "1 000,00 ₽" in rendered.html and "Стул" in rendered.html
    assert "Итого: 1 250,00 ₽ (Одна тысяча двести пятьдесят рублей 00 копеек)" in rendered.html
    assert "ООО Ромашка, ИНН 7707083893, 2 марта 2026 г." in rendered.html
    assert "Итого: 1 250,00 ₽" in rendered.text and "<" not in rendered.text


async def test_bad_templates_are_refused_at_save_and_render(session) -> None:
    with pytest.raises(ValidationFailed, match="line 1"):
        await create_template(session, kind="letter", name="x", body="{% if %}")
    with pytest.raises(ValidationFailed, match="kind"):
        await create_template(session, kind="fax", name="x", body="hi")
    customer = await make_customer(session)
    template = await create_template(session, kind="sms", name="s", body="Hi {{ customer.name }}")
    rendered = await render_template(session, template.id, customer_id=customer.id)
    assert rendered.html is None and rendered.text == f"Hi {customer.name}"
    await update_template(session, template.id, body="{{ ''.__class__ }}")
    with pytest.raises(ValidationFailed, match="not allowed"):
        await render_template(session, template.id, customer_id=customer.id)
