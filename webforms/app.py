"""The public forms, mounted at ``/forms``: page, embed script, token, submission.

A submission goes: rate limits → form (404/410) → origin (403) → body (413/415/422)
→ anti-bot checks → field validation (422) → stored, committed → processed. Bots
caught by the honeypot or the token (missing, forged, expired, or filled in under
``min_fill_seconds``) get the same success answer as people, so they learn nothing,
but their submission is stored as ``spam`` with the reason and never becomes a lead:
a person who really was that fast can still be found in the form's submissions.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import bind
from crm_core.db import is_sqlite
from crm_core.errors import NotFound
from crm_core.forms import form_by_slug, texts_of
from crm_core.models import Form
from webforms import render
from webforms.config import WebformsConfig
from webforms.http import Reject, cors_headers, lang_of, page_headers
from webforms.i18n import t
from webforms.limits import RateLimiter
from webforms.submit import handle_submission
from webforms.tokens import issue_token


class Webforms:
    """The state of the public side: sessions, config, limits, SQLite's one writer."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], config: WebformsConfig):
        self.sessions, self.config, self.limiter = sessions, config, RateLimiter()
        # SQLite has one writer; queueing here (FIFO) keeps p99 low, where threads
        # polling the file lock under a busy timeout would not.
        self.writer = asyncio.Lock() if is_sqlite(sessions.kw["bind"]) else None

    def write_lock(self) -> contextlib.AbstractAsyncContextManager:
        return self.writer or contextlib.nullcontext()

    async def load(self, slug: str, lang: str) -> tuple[Form, str, str | None]:
        """The form and its consent texts, or Reject(404/410)."""
        async with self.write_lock(), self.sessions() as session:
            bind(session, actor=None, clock=self.config.clock)
            try:
                form = await form_by_slug(session, slug)
            except NotFound as exc:
                raise Reject(404, {"detail": t(lang, "not_found")}) from exc
            texts = await texts_of(session, form.consent_text_id, form.marketing_consent_text_id)
            await session.commit()
        if not form.enabled:
            raise Reject(410, {"detail": t(lang, "disabled")})
        marketing = texts.get(form.marketing_consent_text_id)
        return form, texts[form.consent_text_id].text, marketing.text if marketing else None

    def token(self, form: Form) -> str:
        return issue_token(
            self.config.secret_key,
            form.id,
            form.consent_text_id,
            form.marketing_consent_text_id,
            self.config.clock.now(),
        )


def create_webforms(sessions: async_sessionmaker[AsyncSession], config: WebformsConfig) -> FastAPI:
    """The ``/forms`` application (mount it at ``/forms``)."""
    app = FastAPI(title="Firma web forms", openapi_url=None, docs_url=None, redoc_url=None)
    forms = app.state.webforms = Webforms(sessions, config)

    @app.exception_handler(Reject)
    async def _reject(request: Request, exc: Reject) -> Response:
        if "text/html" in request.headers.get("accept", "") and request.method == "GET":
            return HTMLResponse(f"<!doctype html><p>{exc.body['detail']}</p>", exc.status)
        return exc.response()

    @app.get("/{slug}", response_class=HTMLResponse)
    async def page(slug: str, request: Request) -> HTMLResponse:
        lang = lang_of(request, config.language)
        form, consent, marketing = await forms.load(slug, lang)
        meta = {k: v for k, v in request.query_params.items() if k.startswith("utm_")}
        if request.headers.get("referer"):
            meta["referrer"] = request.headers["referer"][:1000]
        html = render.form_page(
            form,
            lang=lang,
            action=f"{request.url.path}?lang={lang}",
            token=forms.token(form),
            idempotency_key=uuid.uuid4().hex,
            consent_text=consent,
            marketing_text=marketing,
            meta={k: v[:1000] for k, v in meta.items()},
        )
        return HTMLResponse(html, headers=page_headers(form))

    @app.get("/{slug}/thanks", response_class=HTMLResponse)
    async def thanks(slug: str, request: Request) -> HTMLResponse:
        lang = lang_of(request, config.language)
        form, _, _ = await forms.load(slug, lang)
        message = form.success_message or t(lang, "thanks")
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(request.query_params.get("date", ""))
            message = f"{message} {t(lang, 'registered', date=day.strftime('%d.%m.%Y'))}"
        html = render.thanks_page(form, lang=lang, message=message)
        return HTMLResponse(html, headers=page_headers(form))

    @app.get("/{slug}/token")
    async def token(slug: str, request: Request) -> JSONResponse:
        form, _, _ = await forms.load(slug, lang_of(request, config.language))
        headers = {**cors_headers(request, form), "Cache-Control": "no-store"}
        return JSONResponse({"token": forms.token(form)}, headers=headers)

    @app.get("/{slug}/embed.js")
    async def embed(slug: str, request: Request) -> Response:
        form, consent, marketing = await forms.load(slug, lang_of(request, config.language))
        script = render.embed_script(form, consent_text=consent, marketing_text=marketing)
        headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
        return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)

    @app.options("/{slug}")
    @app.options("/{slug}/token")
    async def preflight(slug: str, request: Request) -> Response:
        form, _, _ = await forms.load(slug, lang_of(request, config.language))
        headers = cors_headers(request, form)
        if "Access-Control-Allow-Origin" not in headers:
            return JSONResponse({"detail": t("en", "foreign_origin")}, 403, headers=headers)
        return Response(status_code=204, headers=headers)

    @app.post("/{slug}")
    async def submit(slug: str, request: Request) -> Response:
        return await handle_submission(forms, slug, request)

    return app
