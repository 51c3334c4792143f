"""Amounts in Russian words for invoices: «Одна тысяча двести пятьдесят рублей 00 копеек»."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_ONES_M = ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
_ONES_F = ["", "одна", "две", *_ONES_M[3:]]
_TEENS = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
]
_TENS = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
]
_HUNDREDS = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
]
# (forms for 1, 2-4, 5+; feminine?) per power of a thousand, from 10^3 upwards.
_SCALES = [
    (("тысяча", "тысячи", "тысяч"), True),
    (("миллион", "миллиона", "миллионов"), False),
    (("миллиард", "миллиарда", "миллиардов"), False),
    (("триллион", "триллиона", "триллионов"), False),
]


def plural(n: int, forms: tuple[str, str, str]) -> str:
    """The Russian form for ``n``: (1 рубль, 2 рубля, 5 рублей)."""
    n = abs(n) % 100
    if 11 <= n <= 19:
        return forms[2]
    n %= 10
    if n == 1:
        return forms[0]
    if 2 <= n <= 4:
        return forms[1]
    return forms[2]


def _triple(n: int, feminine: bool) -> list[str]:
    words = [_HUNDREDS[n // 100]]
    rest = n % 100
    if 10 <= rest <= 19:
        words.append(_TEENS[rest - 10])
    else:
        words.append(_TENS[rest // 10])
        words.append((_ONES_F if feminine else _ONES_M)[rest % 10])
    return [w for w in words if w]


def number_in_words(n: int, *, feminine: bool = False) -> str:
    """A non-negative integer in Russian words (``feminine`` for «одна», «две»)."""
    if n < 0:
        raise ValueError("negative numbers are not spelled")
    if n == 0:
        return "ноль"
    if n >= 10**15:
        raise ValueError("too large to spell")
    words = _triple(n % 1000, feminine)
    n //= 1000
    for forms, fem in _SCALES:
        if n == 0:
            break
        group = n % 1000
        if group:
            words = [*_triple(group, fem), plural(group, forms), *words]
        n //= 1000
    return " ".join(words)


def rubles_in_words(amount: Decimal) -> str:
    """«Одна тысяча двести пятьдесят рублей 50 копеек» for 1250.50."""
    amount = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount < 0:
        raise ValueError("negative amounts are not spelled")
    rubles = int(amount)
    kopecks = int((amount - rubles) * 100)
    text = number_in_words(rubles)
    rub = plural(rubles, ("рубль", "рубля", "рублей"))
    kop = plural(kopecks, ("копейка", "копейки", "копеек"))
    return f"{text[0].upper()}{text[1:]} {rub} {kopecks:02d} {kop}"
