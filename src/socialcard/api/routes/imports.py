"""Household-register imports: upload (runs in the background), status, rejection report."""

from __future__ import annotations

from pathlib import Path

from fastapi import File, Form, UploadFile
from fastapi.responses import Response

from socialcard.api.routes import api_router
from socialcard.api.schemas import ImportOut
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.imports import begin_import, rejection_report, store_upload
from socialcard.registry import queries
from socialcard.registry.models import HouseholdImport

router = api_router("/imports", "imports")


def import_out(job: HouseholdImport) -> ImportOut:
    return ImportOut(
        id=job.id,
        file_name=job.file_name,
        status=job.status.value,
        total_rows=job.total_rows,
        rows_done=job.rows_done,
        accepted=job.accepted,
        updated=job.updated,
        unchanged=job.unchanged,
        rejected=job.rejected,
        failure_reason=job.failure_reason,
        created_at=job.created_at,
        finished_at=job.finished_at,
        summary=job.summary,
    )


@router.post("", response_model=ImportOut, status_code=202)
async def upload_import(
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    file: UploadFile = File(...),
    encoding: str | None = Form(default=None),
) -> ImportOut:
    """Upload a household-register file (CSV in UTF-8/GBK, or XLSX); the import runs in the
    background and reports progress at GET /imports/{id}."""
    stored = await store_upload(platform, file)
    job = begin_import(
        platform,
        session,
        ctx,
        file_name=Path(file.filename or "").name,
        stored=stored,
        encoding=encoding,
    )
    return import_out(job)


@router.get("", response_model=list[ImportOut])
def list_imports(session: DbSession) -> list[ImportOut]:
    return [import_out(j) for j in queries.list_imports(session)]


@router.get("/{import_id}", response_model=ImportOut)
def get_import(import_id: int, session: DbSession) -> ImportOut:
    return import_out(queries.get_import(session, import_id))


@router.get("/{import_id}/rejections.{file_format}")
def download_rejections(
    import_id: int, file_format: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return rejection_report(platform, session, ctx, import_id, file_format)
