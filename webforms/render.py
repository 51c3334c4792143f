"""HTML pages (Jinja2, autoescaped) and the embed script with the form inlined."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from crm_core.models import Form
from webforms.i18n import TEXTS, label, t

TEMPLATES = Path(__file__).parent / "templates"
_INPUT = {"phone": "tel", "email": "email", "date": "date"}
_AUTOCOMPLETE = {"name": "name", "phone": "tel", "email": "email"}
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fields(form: Form, lang: str) -> list[dict[str, Any]]:
    out = []
    for f in form.fields:
        out.append(
            {
                **f,
                "label": label(f.get("label"), lang),
                "help": label(f.get("help"), lang),
                "input_type": _INPUT.get(f["type"], "text"),
                "autocomplete": _AUTOCOMPLETE.get(f["type"]),
            }
        )
    return out


def form_page(
    form: Form,
    *,
    lang: str,
    action: str,
    token: str,
    idempotency_key: str,
    consent_text: str,
    marketing_text: str | None,
    meta: dict[str, str],
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    return _env.get_template("form.html").render(
        lang=lang,
        title=form.title,
        fields=_fields(form, lang),
        action=action,
        token=token,
        idempotency_key=idempotency_key,
        consent_text=consent_text,
        marketing_text=marketing_text,
        meta=meta,
        values={k: v for k, v in (values or {}).items() if isinstance(v, str | bool)},
        errors=errors or {},
        t=lambda key, **kw: t(lang, key, **kw),
    )


def thanks_page(form: Form, *, lang: str, message: str) -> str:
    return _env.get_template("thanks.html").render(lang=lang, title=form.title, message=message)


@lru_cache(maxsize=1)
def _script() -> tuple[str, str]:
    source = (TEMPLATES / "embed.js").read_text(encoding="utf-8")
    css = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    css = re.search(r"<style>(.*?)</style>", css, re.S).group(1)
    # Inside the shadow root the host element stands in for the page body.
    css = css.replace("body{", ":host{display:block;").replace("main{", ".x-main{")
    return source, css.strip()


def script_size() -> int:
    """Bytes of the hand-written script, before the form's definition is inlined."""
    return len(_script()[0].encode())


def embed_script(form: Form, *, consent_text: str, marketing_text: str | None) -> str:
    source, css = _script()
    keys = ("submit", "sending", "consent", "marketing", "consent_text", "thanks")
    keys += ("errors_above", "too_many", "failed", "choose")
    definition = {
        "slug": form.slug,
        "title": form.title,
        "fields": form.fields,
        "consent_text": consent_text,
        "marketing_text": marketing_text,
        "success": form.success_message,
        "redirect_url": form.redirect_url,
        "css": css,
        "texts": {lang: {k: TEXTS[lang][k] for k in keys} for lang in TEXTS},
    }
    # JSON inside a script: escape what could end the script element or start markup.
    data = json.dumps(definition, ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    data = data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return source.replace("/*FORM*/null", data)
