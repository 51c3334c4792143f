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
import functools
import time
import uuid
from datetime import date

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import bind
from crm_core.db import READ_ONLY
from crm_core.errors import NotFound
from crm_core.forms import active_managers, definitions_version, public_form
from crm_core.models import Form
from webforms import render
from webforms.config import WebformsConfig
from webforms.http import Reject, cors_headers, lang_of, page_headers
from webforms.i18n import translator
from webforms.limits import Limiter, create_limiter
from webforms.submit import handle_submission
from webforms.tokens import issue_token
from webforms.writer import SubmissionWriter


class Webforms:
    """The state of the public side: sessions, config, limits, the cache of form
    definitions, and the process's one submission writer (group commit)."""

    MAX_CACHED = 1000

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: WebformsConfig,
        limiter: Limiter | None = None,
    ):
        self.sessions, self.config = sessions, config
        self.limiter = limiter or create_limiter(config.redis_url, config.redis_prefix)
        # One writer, batches in one transaction each: SQLite's one write lock is taken
        # once per batch (not polled by many under a busy timeout), and PostgreSQL
        # commits once per batch.
        self.writer = SubmissionWriter(
            sessions,
            clock=config.clock,
            timezone=config.timezone,
            managers=self.managers,
            queue_size=config.writer_queue_size,
            batch_size=config.writer_batch_size,
        )
        # slug → (good until, definitions version, form, consent, marketing) or a miss.
        self._cache: dict[str, tuple[float, int, Form | None, str, str | None]] = {}
        self._loading: dict[str, tuple[int, asyncio.Future]] = {}  # slug → its one load
        self._managers: tuple[float, list[int]] = (0.0, [])

    async def aclose(self) -> None:
        """At shutdown: every submission accepted into the queue gets written."""
        await self.writer.aclose()

    async def _definition(self, slug: str) -> tuple[Form | None, str, str | None]:
        """From the cache while it is fresh: every page view, token and submission
        needs the definition, and it changes rarely (a change made in this process is
        seen at once; one made by another process within ``form_cache_seconds``).

        One load per slug at a time: the requests that find the entry expired wait for
        the load the first of them started (under load, every request in flight used
        to read the definition itself each time it expired)."""
        version, at = definitions_version(), time.monotonic()
        hit = self._cache.get(slug)
        if hit is not None and hit[0] > at and hit[1] == version:
            return hit[2], hit[3], hit[4]
        loading = self._loading.get(slug)
        if loading is None or loading[0] != version:
            task = asyncio.ensure_future(self._load(slug, version, at))
            loading = self._loading[slug] = (version, task)
            task.add_done_callback(functools.partial(self._loaded, slug, loading))
        return await asyncio.shield(loading[1])

    def _loaded(self, slug: str, loading: tuple[int, asyncio.Future], task: asyncio.Future):
        if self._loading.get(slug) is loading:
            del self._loading[slug]  # (a failed load is tried again by the next request)
        if not task.cancelled():
            task.exception()  # (read, so nobody left waiting does not mean "never retrieved")

    async def _load(
        self, slug: str, version: int, at: float
    ) -> tuple[Form | None, str, str | None]:
        async with self.sessions() as session:
            await session.connection(execution_options=READ_ONLY)  # no write lock
            bind(session, actor=None, clock=self.config.clock)
            try:
                form, consent, marketing = await public_form(session, slug)
            except NotFound:
                form, consent, marketing = None, "", None
            await session.commit()  # (a rollback would expire the cached form)
        if len(self._cache) >= self.MAX_CACHED:
            self._cache.clear()
        ttl = self.config.form_cache_seconds
        self._cache[slug] = (at + ttl, version, form, consent, marketing)
        return form, consent, marketing

    async def managers(self, session: AsyncSession) -> list[int]:
        """The active managers for the round-robin, read at most every
        ``form_cache_seconds`` (a new manager gets leads a moment later)."""
        at = time.monotonic()
        if self._managers[0] <= at:
            self._managers = (at + self.config.form_cache_seconds, await active_managers(session))
        return self._managers[1]

    async def load(self, slug: str, lang: str) -> tuple[Form, str, str | None]:
        """The form and its consent texts, or Reject(404/410)."""
        form, consent, marketing = await self._definition(slug)
        if form is None:
            _ = translator(lang)
            raise Reject(404, {"detail": _("Form not found.")})
        if not form.enabled:
            _ = translator(lang)
            raise Reject(410, {"detail": _("This form no longer accepts submissions.")})
        return form, consent, marketing

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
        form, _consent, _marketing = await forms.load(slug, lang)
        _ = translator(lang)
        message = form.success_message or _(
            "Thank you! We have your request and will contact you soon."
        )
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(request.query_params.get("date", ""))
            registered = _(
                "You are registered for {date}. A confirmation will follow.",
                date=day.strftime("%d.%m.%Y"),
            )
            message = f"{message} {registered}"
        html = render.thanks_page(form, lang=lang, message=message)
        return HTMLResponse(html, headers=page_headers(form))

    @app.get("/{slug}/token")
    async def token(slug: str, request: Request) -> JSONResponse:
        form, _consent, _marketing = await forms.load(slug, lang_of(request, config.language))
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
        lang = lang_of(request, config.language)
        form, _consent, _marketing = await forms.load(slug, lang)
        headers = cors_headers(request, form)
        if "Access-Control-Allow-Origin" not in headers:
            _ = translator(lang)
            detail = _("This site may not submit to this form.")
            return JSONResponse({"detail": detail}, 403, headers=headers)
        return Response(status_code=204, headers=headers)

    @app.post("/{slug}")
    async def submit(slug: str, request: Request) -> Response:
        return await handle_submission(forms, slug, request)

    return app
