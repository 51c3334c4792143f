"""The demo firm's message templates: a commercial offer with the order's lines, a
supply contract, a letter, an SMS and a Telegram message — what a manager writes from
on the first day, and what the office's «Write» and campaigns offer to choose.

They are the firm's own data, stored as rows (the core owns the table); rendering
them is messaging's (its sandbox checks them: tests/messaging/test_demo_templates.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import Template, TemplateKind

_LINES = """{% if order %}
<table border="1" width="100%">
<thead><tr><th width="6%">№</th><th width="46%">Наименование</th><th width="14%">Кол-во</th>
<th width="16%">Цена</th><th width="18%">Сумма</th></tr></thead>
<tbody>{% for line in order.lines %}
<tr><td>{{ line.position }}</td><td>{{ line.name }}</td><td>{{ line.quantity }} {{ line.unit }}</td>
<td align="right">{{ line.price | money }}</td>
<td align="right">{{ line.amount | money }}</td></tr>{% endfor %}
</tbody>
</table>
<p><b>Итого: {{ order.total | money }}</b>{% if order.vat_amount %}, в том числе НДС
{{ order.vat_amount | money }}{% endif %} ({{ order.total | money_words }}).</p>
{% endif %}"""

_SIGNATURE = """<p>С уважением,<br>{{ employee.name if employee else 'отдел продаж' }}<br>
{{ firm.name }}{% if firm.phone %}, {{ firm.phone }}{% endif %}{% if firm.email %},
{{ firm.email }}{% endif %}</p>"""

OFFER = (
    """<p>{{ customer.legal_name }}{% if contact %}<br>{{ contact.position }}
{{ contact.name }}{% endif %}</p>
<p>Здравствуйте{% if contact %}, {{ contact.name }}{% else %}, {{ customer.name }}{% endif %}!</p>
<p>Благодарим за интерес к {{ firm.name }}. Предлагаем вам:</p>
"""
    + _LINES
    + """
<p>Предложение от {{ today | date_ru }} действительно 10 дней. Доставка по Москве и
области — в течение трёх рабочих дней после оплаты.</p>
"""
    + _SIGNATURE
)

CONTRACT = (
    """<h2>Договор поставки{% if order %} № {{ order.number }}{% endif %}</h2>
<p>г. Москва, {{ today | date_ru }}</p>
<p>{{ firm.name }} (ИНН {{ firm.inn }}), далее «Поставщик», и {{ customer.legal_name }}
{% if customer.inn %}(ИНН {{ customer.inn }}){% endif %}, далее «Покупатель», заключили
настоящий договор о следующем.</p>
<p><b>1. Предмет договора.</b> Поставщик передаёт Покупателю товары и оказывает услуги
по спецификации ниже, Покупатель принимает и оплачивает их.</p>
"""
    + _LINES
    + """
<p><b>2. Оплата.</b> Покупатель оплачивает счёт Поставщика в течение пяти банковских
дней с его выставления.</p>
<p><b>3. Поставка.</b> Поставщик передаёт товар в течение трёх рабочих дней после
оплаты по адресу Покупателя{% if customer.address %}: {{ customer.address }}{% endif %}.</p>
<p><b>4. Реквизиты Поставщика.</b> {{ firm.name }}, ИНН {{ firm.inn }}{% if firm.kpp %},
КПП {{ firm.kpp }}{% endif %}, {{ firm.address }}{% if firm.bank %}, р/с {{ firm.account }}
в {{ firm.bank }}, БИК {{ firm.bik }}{% endif %}.</p>"""
)

LETTER = (
    """<p>Здравствуйте, {{ contact.name if contact else customer.name }}!</p>
<p>{% if order %}Ваш заказ № {{ order.number }} на {{ order.total | money }} принят.
{% if order.left_to_pay > 0 %}К оплате: {{ order.left_to_pay | money }}.{% endif %}
{% if order.payment_url %}Оплатить картой:
<a href="{{ order.payment_url }}">{{ order.payment_url }}</a>.{% endif %}
{% else %}Спасибо, что выбираете {{ firm.name }}.{% endif %}</p>
"""
    + _SIGNATURE
)

STARTERS = (
    (
        TemplateKind.OFFER,
        "Коммерческое предложение",
        "Коммерческое предложение{% if order %} к заказу № {{ order.number }}{% endif %}"
        " — {{ firm.name }}",
        OFFER,
    ),
    (
        TemplateKind.CONTRACT,
        "Договор поставки",
        "Договор поставки{% if order %} № {{ order.number }}{% endif %} — {{ firm.name }}",
        CONTRACT,
    ),
    (
        TemplateKind.LETTER,
        "Заказ принят",
        "Ваш заказ{% if order %} № {{ order.number }}{% endif %}",
        LETTER,
    ),
    (
        TemplateKind.SMS,
        "Заказ готов (SMS)",
        None,
        "{{ customer.name }}, ваш заказ{% if order %} № {{ order.number }}{% endif %} готов. "
        "{{ firm.name }}{% if firm.phone %}, {{ firm.phone }}{% endif %}",
    ),
    (
        TemplateKind.TELEGRAM,
        "Новинки недели (Telegram)",
        None,
        "{{ customer.name }}, на этой неделе в {{ firm.name }} — новые диваны и свет "
        "со скидкой до 20 %. Каталог: /catalog",
    ),
)


async def add_templates(session: AsyncSession) -> None:
    """The starter templates, each once (by name)."""
    have = set(await session.scalars(select(Template.name)))
    at = now(session)
    for kind, name, subject, body in STARTERS:
        if name not in have:
            session.add(
                Template(
                    kind=kind, name=name, subject=subject, body=body, created_at=at, updated_at=at
                )
            )
    await session.flush()
