"""The audit log for the audit administrator: the newest records under the verdict of the
hash-chain verifier. Reading the log is itself audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from socialcard.access import audit
from socialcard.access import services as access
from socialcard.access.models import AuditRecord, AuditResult
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.web.labels import AUDIT_ACTIONS, AUDIT_RESULTS, OBJECT_TYPES, role_names
from socialcard.web.rendering import render_page

router = APIRouter()

RECORDS_SHOWN: Final = 200


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    occurred_at: datetime
    who: str
    roles: str
    department: str
    action: str
    action_code: str
    object: str
    result: str
    result_code: str
    origin: str
    request_id: str
    details: str


def _row(record: AuditRecord, departments: dict[str, str]) -> AuditRow:
    roles = [code for code in (record.actor_roles or "").split(",") if code]
    object_text = ""
    if record.object_type:
        object_text = OBJECT_TYPES.get(record.object_type, record.object_type)
        if record.object_id:
            object_text += f" {record.object_id}"
    details = "；".join(f"{key}={value}" for key, value in sorted(record.details.items()))
    result = AuditResult(record.result).value
    return AuditRow(
        seq=record.seq,
        occurred_at=record.occurred_at,
        who=record.actor_username or "匿名",
        roles="、".join(role_names(roles)),
        department=departments.get(record.department_code or "", record.department_code or ""),
        action=AUDIT_ACTIONS.get(record.action, record.action),
        action_code=record.action,
        object=object_text,
        result=AUDIT_RESULTS.get(result, result),
        result_code=result,
        origin=record.origin or "",
        request_id=record.request_id or "",
        details=details,
    )


@router.get("/audit")
def audit_page(
    request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The newest records and whether the whole chain is intact."""
    ctx.require_principal()
    checkpoint_file = platform.settings.resolved_checkpoint_file
    verification = audit.verify_chain(session, checkpoint_file=checkpoint_file)
    with transaction(session):
        records = audit.list_records(session, limit=RECORDS_SHOWN)
        departments = {d.code: d.name for d in access.list_departments(session)}
        rows = [_row(record, departments) for record in records]
        audit.append_audit(
            session,
            ctx.event(
                "audit.view",
                AuditResult.SUCCESS,
                details={
                    "records": len(rows),
                    "intact": verification.is_intact,
                    "checked": verification.records_checked,
                },
            ),
            at=platform.clock.now(),
        )
    return render_page(
        request,
        "audit.html",
        verification=verification,
        rows=rows,
        records_shown=RECORDS_SHOWN,
        has_checkpoints=checkpoint_file.exists(),
    )
