"""HTTP details of the public intake: body limits and parsing, CORS, CSP, language."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse

from crm_core.models import Form
from webforms.i18n import language, translator

MAX_FORM_KEYS = 200


class Reject(Exception):
    """A request answered with an error before any storage: status and body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self, extra: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body, self.status, headers={**self.headers, **(extra or {})})


def lang_of(request: Request, default: str) -> str:
    """``?lang=``, else the browser's ``Accept-Language``, else the firm's language."""
    return language(
        request.query_params.get("lang"), default, request.headers.get("accept-language")
    )


async def read_body(request: Request, limit: int, lang: str) -> bytes:
    """The body, refusing (413) as soon as it is over the limit: the declared length
    first, then counting while reading (a chunked body has no declared length)."""
    _ = translator(lang)
    too_large = Reject(413, {"detail": _("The request is too large.")})
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def parse_body(request: Request, body: bytes, lang: str) -> tuple[dict[str, Any], bool]:
    """The submitted keys and whether it came as JSON; 415/422 for what cannot be read."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    _ = translator(lang)
    malformed = Reject(422, {"errors": {"body": _("The request could not be read.")}})
    if kind == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise malformed from exc
        if not isinstance(data, dict):
            raise malformed
        return data, True
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_KEYS,
                strict_parsing=False,
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise malformed from exc
        return dict(pairs), False
    raise Reject(415, {"detail": _("Send form data or JSON.")})


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def origin_allowed(request: Request, form: Form) -> bool:
    """No Origin (a server, curl) or our own origin or one the form lists."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin = origin.lower().rstrip("/")
    return origin == own_origin(request) or origin in (form.allowed_origins or [])


def cors_headers(request: Request, form: Form) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or origin.lower().rstrip("/") not in (form.allowed_origins or []):
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Accept",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def page_headers(form: Form) -> dict[str, str]:
    """Only the form's own origins may frame the page; nothing third-party loads."""
    ancestors = " ".join(["'self'", *(form.allowed_origins or [])])
    targets = "'self'"
    if form.redirect_url:
        targets += " " + "/".join(form.redirect_url.split("/")[:3])
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; form-action {targets}; "
            f"frame-ancestors {ancestors}; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cache-Control": "no-store",
    }


def wants_html(request: Request, is_json: bool) -> bool:
    """A plain browser post (urlencoded, Accept: text/html) gets pages and a 303."""
    if is_json:
        return False
    accept = request.headers.get("accept", "")
    return "application/json" not in accept or "text/html" in accept
