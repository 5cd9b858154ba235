"""Household-register imports: upload (runs in the background), a progress page that polls,
and the rejection report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from socialcard.errors import DomainError, InvalidField
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.imports import begin_import, rejection_report, store_upload
from socialcard.registry import queries
from socialcard.registry.household.columns import FIELD_LABELS
from socialcard.registry.models import HouseholdImport, ImportStatus
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.labels import IMPORT_STATUSES
from socialcard.web.rendering import page_headers, render_page

router = APIRouter()

# The encodings offered on the form ("" lets the reader detect UTF-8 or GBK itself).
ENCODINGS: Final = (("", "自动识别"), ("utf-8", "UTF-8"), ("gbk", "GBK / GB18030"))
REJECTIONS_SHOWN_MAX: Final = 100
FINISHED: Final = frozenset({ImportStatus.COMPLETED, ImportStatus.FAILED})


def progress_of(job: HouseholdImport) -> dict[str, object]:
    """What the progress page shows and polls for."""
    total = job.total_rows
    percent = 100 if job.status is ImportStatus.COMPLETED else 0
    if total and job.status is not ImportStatus.COMPLETED:
        percent = min(100, job.rows_done * 100 // total)
    return {
        "id": job.id,
        "status": job.status.value,
        "status_label": IMPORT_STATUSES[job.status.value],
        "is_finished": job.status in FINISHED,
        "total_rows": total,
        "rows_done": job.rows_done,
        "percent": percent,
        "accepted": job.accepted,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
        "summary": job.summary,
        "failure_reason": job.failure_reason,
    }


def _render_list(
    request: Request, session: Session, *, errors: FormErrors | None = None, status_code: int = 200
) -> Response:
    return render_page(
        request,
        "imports/list.html",
        status_code=status_code,
        imports=[(job, progress_of(job)) for job in queries.list_imports(session)],
        encodings=ENCODINGS,
        errors=errors or FormErrors(),
    )


@router.get("/imports")
def imports_page(request: Request, ctx: Context, session: DbSession) -> Response:
    ctx.require_principal()
    return _render_list(request, session)


@router.post("/imports")
async def upload_import(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    file: Annotated[UploadFile, File()],
    encoding: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Store the file, start the import in the background and show its progress page."""
    ctx.require_principal()
    try:
        if encoding not in {code for code, _ in ENCODINGS}:
            raise InvalidField("encoding", "known_encoding", "请选择列表中的文件编码。")
        stored = await store_upload(platform, file)
        # begin_import digests the whole file: keep that off the event loop.
        job = await run_in_threadpool(
            begin_import,
            platform,
            session,
            ctx,
            file_name=Path(file.filename or "").name,
            stored=stored,
            encoding=encoding or None,
        )
    except DomainError as error:
        errors = FormErrors.of(error)
        if errors.general is not None:
            errors = FormErrors(fields={"file": errors.general}, status_code=errors.status_code)
        return _render_list(request, session, errors=errors, status_code=errors.status_code)
    return see_other(f"/imports/{job.id}")


@router.get("/imports/{import_id}")
def import_page(import_id: int, request: Request, ctx: Context, session: DbSession) -> Response:
    """Progress while running; counts, the first rejections and the reports when done."""
    ctx.require_principal()
    job = queries.get_import(session, import_id)
    rejections = (
        list(queries.list_rejections(session, job.id, limit=REJECTIONS_SHOWN_MAX))
        if job.status in FINISHED
        else []
    )
    return render_page(
        request,
        "imports/detail.html",
        job=job,
        progress=progress_of(job),
        rejections=rejections,
        rejections_shown_max=REJECTIONS_SHOWN_MAX,
        field_labels=FIELD_LABELS,
    )


@router.get("/imports/{import_id}/progress")
def import_progress(import_id: int, ctx: Context, session: DbSession) -> JSONResponse:
    ctx.require_principal()
    job = queries.get_import(session, import_id)
    return JSONResponse(progress_of(job), headers=page_headers())


@router.get("/imports/{import_id}/rejections.{file_format}")
def download_rejections(
    import_id: int, file_format: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The rejected rows as CSV or XLSX (identifiers masked); the export is audited."""
    return rejection_report(platform, session, ctx, import_id, file_format)
