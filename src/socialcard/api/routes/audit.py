"""The audit log for the audit administrator: recent records and chain verification."""

from __future__ import annotations

from fastapi import Query

from socialcard.access import audit
from socialcard.access.models import AuditResult
from socialcard.api.routes import api_router
from socialcard.api.schemas import AuditOut, VerificationOut
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep

router = api_router("/audit", "audit")


@router.get("", response_model=list[AuditOut])
def list_audit(
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    limit: int = Query(default=100, ge=1, le=1000),
    before_seq: int | None = Query(default=None, ge=1),
) -> list[AuditOut]:
    """The newest audit records (reading the log is itself audited)."""
    with transaction(session):
        records = audit.list_records(session, limit=limit, before_seq=before_seq)
        audit.append_audit(
            session, ctx.event("audit.view", AuditResult.SUCCESS), at=platform.clock.now()
        )
    return [
        AuditOut(
            seq=r.seq,
            occurred_at=r.occurred_at,
            actor_username=r.actor_username,
            actor_roles=r.actor_roles,
            department_code=r.department_code,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            result=r.result.value,
            origin=r.origin,
            request_id=r.request_id,
            details=r.details,
        )
        for r in records
    ]


@router.get("/verification", response_model=VerificationOut)
def verify(ctx: Context, session: DbSession, platform: PlatformDep) -> VerificationOut:
    """Walk the whole chain and report whether it is intact."""
    result = audit.verify_chain(session, checkpoint_file=platform.settings.resolved_checkpoint_file)
    with transaction(session):
        audit.append_audit(
            session,
            ctx.event(
                "audit.verify",
                AuditResult.SUCCESS,
                details={"intact": result.is_intact, "records": result.records_checked},
            ),
            at=platform.clock.now(),
        )
    return VerificationOut(
        records_checked=result.records_checked,
        is_intact=result.is_intact,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
    )
