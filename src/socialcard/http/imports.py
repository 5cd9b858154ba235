"""Import plumbing shared by the API and the web: storing uploads, starting the background
import, and the audited rejection report."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.http.context import RequestContext
from socialcard.jobs.household_import import start_in_background
from socialcard.registry import queries
from socialcard.registry.household.importer import create_import
from socialcard.registry.household.reader import detect_format
from socialcard.registry.household.report import render_rejections_csv, render_rejections_xlsx
from socialcard.registry.models import HouseholdImport

UPLOAD_BYTES_MAX = 2 << 30
REPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def store_upload(platform: Platform, upload: UploadFile) -> Path:
    """Save an uploaded file under the data directory, streaming, with a size limit."""
    name = Path(upload.filename or "").name
    if not name:
        raise InvalidField("file", "required", "请选择要导入的文件。")
    detect_format(name)
    folder = platform.settings.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    written = 0
    with target.open("wb") as handle:
        while block := await upload.read(1 << 20):
            written += len(block)
            if written > UPLOAD_BYTES_MAX:
                handle.close()
                target.unlink(missing_ok=True)
                raise InvalidField("file", "size_max_2gib", "文件超过 2 GiB。")
            handle.write(block)
    return target


def begin_import(
    platform: Platform,
    session: Session,
    ctx: RequestContext,
    *,
    file_name: str,
    stored: Path,
    encoding: str | None,
) -> HouseholdImport:
    """Create the import, audit it, commit, and start it on a background thread."""
    principal = ctx.require_principal()
    with transaction(session):
        job = create_import(
            session,
            file_name=file_name,
            stored_path=stored,
            encoding=encoding,
            created_by=principal.staff_id,
            at=platform.clock.now(),
        )
        append_audit(
            session,
            ctx.event(
                "import.upload",
                AuditResult.SUCCESS,
                object_type="household_import",
                object_id=job.id,
                details={"file_format": job.file_format},
            ),
            at=platform.clock.now(),
        )
    start_in_background(
        platform.sessions,
        platform.keys,
        platform.clock,
        import_id=job.id,
        actor=ctx.actor,
        chunk_size=platform.settings.import_chunk_size,
    )
    return job


def rejection_report(
    platform: Platform, session: Session, ctx: RequestContext, import_id: int, file_format: str
) -> Response:
    """The rejected rows as CSV or XLSX; the export is audited."""
    if file_format not in REPORT_TYPES:
        raise InvalidField("file_format", "csv_or_xlsx", "错误报告只提供 csv 或 xlsx 格式。")
    with transaction(session):
        job = queries.get_import(session, import_id)
        rejections = queries.list_rejections(session, job.id)
        append_audit(
            session,
            ctx.event(
                "import.rejections_export",
                AuditResult.SUCCESS,
                object_type="household_import",
                object_id=job.id,
                details={"format": file_format, "lines": len(rejections)},
            ),
            at=platform.clock.now(),
        )
    body = (
        render_rejections_csv(rejections)
        if file_format == "csv"
        else render_rejections_xlsx(rejections)
    )
    file_name = f"import-{import_id}-rejections.{file_format}"
    return Response(
        body,
        media_type=REPORT_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )
