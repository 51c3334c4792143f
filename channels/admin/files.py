"""``POST /imports/{kind}`` (multipart ``file``; ``?dry_run=true`` previews) and
``GET /exports/{kind}?format=csv|xlsx|vcf``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from channels.admin.auth import Caller, Ctx
from channels.files.importer import run_import
from channels.files.tabular import MAX_FILE_BYTES, FileRefused
from channels.files.writers import MEDIA_TYPES, write_csv, write_vcf, write_xlsx
from channels.texts import catalog
from crm_core.context import bind
from crm_core.db import READ_ONLY
from crm_core.i18n import pick_language
from crm_core.imports.export import export_rows

router = APIRouter(tags=["import and export"])
Kind = Literal["customers", "products", "leads"]
ExportKind = Literal["customers", "products", "leads", "orders"]


def _language(request: Request) -> str:
    return pick_language(request.headers.get("accept-language", "")[:2] or None)


UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV, XLSX or vCard (.vcf), at most 25 MB",
                        },
                        "mapping": {
                            "type": "string",
                            "description": 'JSON {"Column header": "field"}',
                        },
                    },
                }
            }
        },
    }
}


@router.post("/imports/{kind}", openapi_extra=UPLOAD_SCHEMA)
async def import_file(
    kind: Kind,
    request: Request,
    caller: Caller,
    ctx: Ctx,
    dry_run: bool = False,
    errors_only: bool = False,
) -> dict:
    """Preview (``dry_run=true``: per-row results, nothing written) or import the file:
    batches of 500 rows, each row created, updated, unchanged or an error."""
    language = _language(request)
    too_large = catalog.gettext(
        language, "The file is larger than {mb} MB", mb=MAX_FILE_BYTES >> 20
    )
    declared = request.headers.get("content-length", "")
    # Refused before the body is read: a form is spooled whole once parsing starts.
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES + 64 * 1024:
        raise HTTPException(413, too_large)
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as exc:  # a malformed multipart body
        raise HTTPException(422, "Send the file as multipart/form-data field 'file'") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "Send the file as multipart/form-data field 'file'")
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise HTTPException(413, too_large)
    columns = None
    mapping = form.get("mapping")
    if mapping:
        try:
            columns = json.loads(str(mapping))
        except ValueError:
            columns = None
        if not isinstance(columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise HTTPException(422, 'mapping must be a JSON object {"Column header": "field"}')
    try:
        report = await run_import(
            ctx.sessions,
            kind=kind,
            data=data,
            filename=upload.filename or "",
            dry_run=dry_run,
            clock=ctx.clock,
            actor=caller,
            mapping=columns,
            language=language,
        )
    except FileRefused as exc:
        raise HTTPException(422, catalog.gettext(language, exc.message, **exc.values)) from exc
    return report.as_dict(only_errors=errors_only)


@router.get("/exports/{kind}")
async def export_file(
    kind: ExportKind,
    caller: Caller,
    ctx: Ctx,
    format: Literal["csv", "xlsx", "vcf"] = "csv",
):
    """The whole list as a file: CSV (UTF-8 with BOM, ``;``), XLSX or vCard (customers)."""
    if format == "vcf" and kind != "customers":
        raise HTTPException(422, "vCard is for customers only")
    filename = f"{kind}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}

    async def batches() -> AsyncIterator[list]:
        async with ctx.sessions() as session:
            bind(session, actor=caller, clock=ctx.clock)
            await session.connection(execution_options=READ_ONLY)
            async for rows in export_rows(session, kind):
                yield rows

    if format == "xlsx":
        spool = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
        spool.close()
        await write_xlsx(batches(), spool.name)
        return FileResponse(
            spool.name,
            media_type=MEDIA_TYPES["xlsx"],
            headers=disposition,
            background=BackgroundTask(os.unlink, spool.name),
        )
    writer = write_vcf if format == "vcf" else write_csv
    return StreamingResponse(writer(batches()), media_type=MEDIA_TYPES[format], headers=disposition)
