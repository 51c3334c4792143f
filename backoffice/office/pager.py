"""Server-side paging and sorting for office lists: ``?page=`` (1-based) and ``?sort=``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

PER_PAGE = 50


@dataclass(frozen=True)
class Pager:
    page: int
    per_page: int
    total: int
    query: QueryParams

    @classmethod
    def of(cls, query: QueryParams, total: int, per_page: int = PER_PAGE) -> Pager:
        return cls(page_number(query), per_page, total, query)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url(self, page: int) -> str:
        return with_query(self.query, page=page)

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to show: first, last and ``size`` around the current one;
        ``None`` marks a gap."""
        shown = {1, self.pages, *range(self.page - size, self.page + size + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        out: list[int | None] = []
        for n in numbers:
            if out and out[-1] is not None and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out


def page_number(query: QueryParams) -> int:
    try:
        page = int(query.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), 1_000_000)


def with_query(query: QueryParams, **changes: object) -> str:
    """``?…`` with ``changes`` applied (``None`` removes a key); ``page`` resets to 1
    when anything else changes."""
    items = dict(query.multi_items())
    if "page" not in changes:
        items.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            items.pop(key, None)
        else:
            items[key] = str(value)
    return "?" + urlencode(items) if items else "?"
