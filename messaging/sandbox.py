"""The Jinja2 sandbox that managers' templates run in.

Managers write templates, so a template is untrusted code: it gets no attribute
access to Python internals (``''.__class__`` is refused, not rendered empty), no
file or network access (no loader, no imports), and a budget — loop iterations,
output size and wall time — so a careless or hostile template cannot hang a worker
or fill its memory. Every refusal is a ``TemplateRefused`` with a message a person
can act on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_ITERATIONS = 20_000  # loop iterations per render, summed over all loops
MAX_OUTPUT = 1_000_000  # characters of rendered output
MAX_SECONDS = 2.0
MAX_SEQUENCE = 100_000  # length of a string/list made by * or **
CLOCK_EVERY = 16  # output chunks between two looks at the clock


class TemplateRefused(Exception):
    """The template broke a sandbox rule or failed to render."""


class _Budget:
    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_SECONDS
        self.iterations = 0

    def tick(self, n: int = 1) -> None:
        self.iterations += n
        if self.iterations > MAX_ITERATIONS:
            raise TemplateRefused(f"Too many loop iterations (more than {MAX_ITERATIONS})")
        if time.monotonic() > self.deadline:
            raise TemplateRefused(f"Rendering took longer than {MAX_SECONDS:g} s")


_current: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _budget() -> _Budget:
    return _current.get() or _Budget()


BUDGET_FILTER = "_firma_loop_budget"


def _counted(values: Any) -> Iterator[Any]:
    budget = _budget()
    budget.tick(0)
    for value in values:
        budget.tick()
        yield value


class FirmaSandbox(SandboxedEnvironment):
    # Intercept * and ** so 'x' * 10**9 cannot allocate gigabytes.
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=ChainableUndefined, loader=None)
        self.globals = {"range": self._range, "dict": dict, "lipsum": None, "cycler": None}
        self.filters[BUDGET_FILTER] = _counted

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every {% for %} iterates through the budget, whatever it loops over (the
        # order's lines, a list literal, a string): nested loops over data cannot
        # hang a worker any more than nested range() calls can.
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, BUDGET_FILTER, [], [], None, None, lineno=loop.lineno
            )
        return tree

    def _range(self, *args: int) -> Iterator[int]:
        values = range(*args)
        budget = _budget()
        budget.tick(0)
        for value in values:
            budget.tick()
            yield value

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # The stock sandbox returns an undefined that prints as "", hiding the attempt.
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__!r} value is not allowed"
        )

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        _budget().tick(0)
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("exponent too large")
            return left**right
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_SEQUENCE:
                raise SecurityError("the repeated value would be too long")
        return left * right

    def call(self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        _budget().tick(0)
        return super().call(__context, __obj, *args, **kwargs)


@lru_cache(maxsize=2)
def environment(autoescape: bool) -> FirmaSandbox:
    return FirmaSandbox(autoescape=autoescape)


@lru_cache(maxsize=256)
def compile_template(source: str, autoescape: bool):
    """Compiled once per source text: a campaign renders one template many times."""
    try:
        return environment(autoescape).from_string(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateRefused(f"Template error{where}: {exc.message or exc}") from exc


@lru_cache(maxsize=256)
def _globals(template) -> dict[str, Any]:
    return dict(template.globals)


def register_filters(**filters: Any) -> None:
    for env in (environment(True), environment(False)):
        env.filters.update(filters)


def render(source: str, context: dict[str, Any], *, autoescape: bool) -> str:
    """Render ``source`` with ``context`` within the budget, or raise TemplateRefused."""
    template = compile_template(source, autoescape)
    budget = _Budget()
    token = _current.set(budget)
    out: list[str] = []
    size = 0
    try:
        # The render function itself, not ``generate``: that copies the context and
        # wraps the generator only to rewrite tracebacks, which nobody here reads.
        # The globals (a ChainMap, slow to iterate) are merged in from a plain copy.
        names = {**_globals(template), **context}
        for chunk in template.root_render_func(template.new_context(names, shared=True)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateRefused(f"The result is longer than {MAX_OUTPUT} characters")
            if not len(out) % CLOCK_EVERY:  # loops and calls look at the clock themselves
                budget.tick(0)
            out.append(chunk)
    except TemplateRefused:
        raise
    except SecurityError as exc:
        raise TemplateRefused(f"Refused by the template sandbox: {exc}") from exc
    except TemplateError as exc:
        raise TemplateRefused(f"Template error: {exc}") from exc
    except RecursionError as exc:
        raise TemplateRefused("Template recursion too deep") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateRefused(f"Template error: {exc}") from exc
    finally:
        _current.reset(token)
    return "".join(out)
