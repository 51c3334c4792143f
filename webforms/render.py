"""HTML pages (Jinja2, autoescaped) and the embed script with the form inlined."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from crm_core.models import Form
from webforms.i18n import CATALOG, label, script_texts

TEMPLATES = Path(__file__).parent / "templates"
_INPUT = {"phone": "tel", "email": "email", "date": "date"}
_AUTOCOMPLETE = {"name": "name", "phone": "tel", "email": "email"}


@lru_cache(maxsize=4)
def _env(lang: str) -> Environment:
    """One environment per language, with that language's catalog installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(CATALOG.translations(lang), newstyle=True)
    return env


def template(lang: str, name: str):
    """A template of this door with ``lang``'s catalog installed."""
    return _env(lang).get_template(name)


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
    template = _env(lang).get_template("form.html")
    return template.render(
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
    )


def thanks_page(form: Form, *, lang: str, message: str) -> str:
    template = _env(lang).get_template("thanks.html")
    return template.render(lang=lang, title=form.title, message=message)


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
    definition = {
        "slug": form.slug,
        "title": form.title,
        "fields": form.fields,
        "consent_text": consent_text,
        "marketing_text": marketing_text,
        "success": form.success_message,
        "redirect_url": form.redirect_url,
        "css": css,
        "texts": script_texts(),
    }
    # JSON inside a script: escape what could end the script element or start markup.
    data = json.dumps(definition, ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    data = data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return source.replace("/*FORM*/null", data)
