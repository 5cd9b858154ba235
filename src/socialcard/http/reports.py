"""The evaluation report as a download, shared by the API and the dashboard's button."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.http.context import RequestContext
from socialcard.reports.evaluation import (
    build_evaluation,
    render_evaluation_pdf,
    render_evaluation_xlsx,
)

REPORT_TYPES: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def evaluation_download(
    session: Session, ctx: RequestContext, *, file_format: str, as_of: date, at: datetime
) -> Response:
    """Build the evaluation report on a date (uses counted from 1 January), audit the export,
    and return it as an attachment."""
    if file_format not in REPORT_TYPES:
        raise InvalidField("file_format", "xlsx_or_pdf", "评估报告只提供 xlsx 或 pdf 格式。")
    report = build_evaluation(
        session, as_of=as_of, period_from=date(as_of.year, 1, 1), period_to=as_of, generated_at=at
    )
    body = (
        render_evaluation_xlsx(report) if file_format == "xlsx" else render_evaluation_pdf(report)
    )
    with transaction(session):
        append_audit(
            session,
            ctx.event(
                "report.evaluation_export",
                AuditResult.SUCCESS,
                details={"format": file_format, "as_of": as_of.isoformat()},
            ),
            at=at,
        )
    name = f"evaluation-{as_of.isoformat()}.{file_format}"
    return Response(
        body,
        media_type=REPORT_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
