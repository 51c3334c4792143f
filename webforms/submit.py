"""``POST /forms/{slug}``: one submission, answered exactly as CONTRACT.md says."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from crm_core.forms import Evidence, Incoming, check_answers, contacts_of, meta_of
from crm_core.models import Form, FormPurpose, SubmissionStatus
from webforms import render
from webforms.http import (
    Reject,
    cors_headers,
    lang_of,
    origin_allowed,
    page_headers,
    parse_body,
    read_body,
)
from webforms.i18n import error_messages, language, translator
from webforms.tokens import check_token
from webforms.writer import WriterBusy

if TYPE_CHECKING:
    from webforms.app import Webforms


async def _limit(forms: Webforms, slug: str, request: Request, lang: str) -> None:
    cfg = forms.config
    now = cfg.clock.now().timestamp()
    ip = request.client.host if request.client else "?"
    for key, limit in ((f"ip:{ip}:{slug}", cfg.per_ip_limit), (f"form:{slug}", cfg.per_form_limit)):
        wait = await forms.limiter.hit(key, limit=limit, window=cfg.window_seconds, now=now)
        if wait is not None:
            _ = translator(lang)
            detail = _("Too many submissions. Please try again in a minute.")
            raise Reject(429, {"detail": detail}, {"Retry-After": str(wait)})


def _bot_reason(forms: Webforms, form: Form, data: dict[str, Any]) -> tuple[Any, str | None]:
    if str(data.get("website") or "").strip():
        return None, "honeypot"
    cfg = forms.config
    return check_token(
        cfg.secret_key,
        data.get("_token"),
        form_id=form.id,
        at=cfg.clock.now(),
        min_age=cfg.min_fill_seconds,
        max_age=cfg.token_max_age_seconds,
    )


def _accepted(
    request: Request, form: Form, lang: str, html: bool, sub_id: int, day: Any
) -> Response:
    if not html:
        body = {"status": "accepted", "submission_id": sub_id}
        return JSONResponse(body, 201, headers=cors_headers(request, form))
    if form.redirect_url:
        return RedirectResponse(form.redirect_url, 303)
    query = {"lang": lang, **({"date": day} if day else {})}
    return RedirectResponse(f"{request.url.path}/thanks?{urlencode(query)}", 303)


async def handle_submission(forms: Webforms, slug: str, request: Request) -> Response:
    cfg = forms.config
    lang = lang_of(request, cfg.language)
    try:
        await _limit(forms, slug, request, lang)
        form, consent, marketing = await forms.load(slug, lang)
        cors = cors_headers(request, form)
        if not origin_allowed(request, form):
            _ = translator(lang)
            detail = _("This site may not submit to this form.")
            raise Reject(403, {"detail": detail}, cors)
        body = await read_body(request, cfg.max_body_bytes, lang)
        data, is_json = parse_body(request, body, lang)
    except Reject as exc:
        return exc.response()
    lang = language(data.get("lang"), lang) if isinstance(data.get("lang"), str) else lang
    accept = request.headers.get("accept", "")
    html_errors = not is_json and "text/html" in accept
    html_success = not is_json and ("application/json" not in accept or "text/html" in accept)
    token, reason = _bot_reason(forms, form, data)
    today = cfg.clock.now().date()
    answers, errors = check_answers(form.fields, data, today=today)
    if errors:  # also for suspected bots: the errors tell them nothing useful
        messages = error_messages(lang, errors)
        if html_errors:
            page = render.form_page(
                form,
                lang=lang,
                action=f"{request.url.path}?lang={lang}",
                token=forms.token(form),
                idempotency_key=str(data.get("_idempotency_key") or "")[:100],
                consent_text=consent,
                marketing_text=marketing,
                meta=meta_of(data),
                values=data,
                errors=messages,
            )
            return HTMLResponse(page, 422, headers=page_headers(form))
        return JSONResponse({"errors": messages}, 422, headers=cors)
    if reason:  # kept as spam: whatever could be read of it, nothing processed
        answers = {k: v for k, v in data.items() if isinstance(v, str | bool | int | float)}
        answers = {str(k)[:100]: str(v)[:1000] for k, v in list(answers.items())[:100]}
    key = data.get("_idempotency_key")
    evidence = Evidence(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        consent_text_id=token.consent_text_id if token and not reason else None,
        marketing_text_id=token.marketing_text_id if token and not reason else None,
    )
    item = Incoming(
        form,
        answers=answers,
        meta=meta_of(data, lang),
        evidence=evidence,
        marketing_consent=data.get("marketing_consent") in (True, "on", "true", "1"),
        idempotency_key=key if isinstance(key, str) else None,
        token_nonce=token.nonce if token and not reason else None,
        spam_reason=reason,
        contacts=None if reason else contacts_of(form.fields, answers),
    )
    # Stored and processed by the process's one writer, committed with its batch
    # before the visitor hears "accepted" (see webforms/writer.py).
    try:
        stored = await forms.writer.submit(item)
    except WriterBusy:
        _ = translator(lang)
        detail = _("Too many requests right now. Please try again in a minute.")
        return JSONResponse({"detail": detail}, 503, headers={**cors, "Retry-After": "1"})
    day = None
    if form.purpose is FormPurpose.REGISTRATION and stored.status is not SubmissionStatus.SPAM:
        day = next((answers.get(f["name"]) for f in form.fields if f["type"] == "date"), None)
    return _accepted(request, form, lang, html_success, stored.id, day)
