"""Made-up people and companies for the demo: names, phones, emails, INNs.

Emails are on the reserved ``example.*`` domains so that no campaign sent from a
demo database can reach a real mailbox.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from crm_core.contacts import normalize_phone
from crm_core.demo.data import EMPLOYEES, FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES

# Moscow mobile operators' codes (all valid for libphonenumber).
MOBILE_CODES = ("903", "905", "906", "909", "915", "916", "917", "925", "926", "929", "967")
MAIL_DOMAINS = ("example.com", "example.net", "example.org")
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        (
            *("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o"),
            *("p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e"),
            *("yu", "ya"),
        ),
        strict=True,
    )
)
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def translit(text: str) -> str:
    """``Фёдорова`` → ``fedorova``: a name as it would appear in an email address."""
    out = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    return re.sub(r"[^a-z0-9]+", "-", out).strip("-")


def _check(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def person_inn(rng: random.Random) -> str:
    """A 12-digit INN of a Moscow sole trader with correct check digits."""
    digits = [7, 7] + [rng.randrange(10) for _ in range(8)]
    digits.append(_check(digits, _INN11))
    digits.append(_check(digits, _INN12))
    return "".join(map(str, digits))


def company_inn(rng: random.Random) -> str:
    """A 10-digit INN of a Moscow company with a correct check digit."""
    digits = [7, 7] + [rng.randrange(10) for _ in range(7)]
    digits.append(_check(digits, _INN10))
    return "".join(map(str, digits))


class Phones:
    """Unique valid Russian mobile numbers in E.164."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        while True:
            code = self.rng.choice(MOBILE_CODES)
            number = normalize_phone(f"+7{code}{self.rng.randrange(10**7):07d}")
            if number not in self.used:
                self.used.add(number)
                return number


@dataclass
class Person:
    first: str
    last: str
    female: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


class People:
    """Distinct made-up people (first name + surname of the matching gender)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = {name for name, _, _ in EMPLOYEES}  # no customer is one of us
        self.mails: set[str] = set()

    def __call__(self) -> Person:
        while True:
            female = self.rng.random() < 0.55
            first = self.rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)
            last = self.rng.choice(LAST_NAMES)[1 if female else 0]
            if f"{first} {last}" not in self.used:
                self.used.add(f"{first} {last}")
                return Person(first, last, female)

    def email(self, person: Person, domain: str | None = None) -> str:
        local = f"{translit(person.first)}.{translit(person.last)}"
        if domain is None:
            domain = self.rng.choice(MAIL_DOMAINS)
            local = self.rng.choice((local, f"{translit(person.last)}{self.rng.randrange(70, 99)}"))
        address, n = f"{local}@{domain}", 2
        while address in self.mails:
            address, n = f"{local}{n}@{domain}", n + 1
        self.mails.add(address)
        return address


def company_domain(name: str) -> str:
    """``Кофейня «Зерно»`` → ``zerno.example.com``."""
    quoted = re.search(r"«([^»]+)»", name)
    return f"{translit(quoted.group(1) if quoted else name)}.example.com"


@dataclass
class CustomerSpec:
    """One customer to create (or to come out of a converted lead)."""

    name: str
    kind: str
    day: int
    responsible: int  # index into the managers
    phones: list[str]
    emails: list[str]
    legal_name: str | None = None
    inn: str | None = None
    tags: list[str] = field(default_factory=list)
    consents: dict[str, bool] = field(default_factory=dict)
    address: str | None = None
    source: str | None = None
    comment: str | None = None
    persons: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, post, tel, mail
    wholesale: bool = False
    id: int | None = None
