"""What the API and the web pages share for disbursement: who the officer is, the department
scope of what they see, each operation with its audit record, and running a batch."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.disbursement import queries
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.errors import NotProgrammeDepartment
from socialcard.disbursement.models import DisbursementBatch, Programme
from socialcard.disbursement.payee_lists import read_payee_rows
from socialcard.disbursement.programmes import get_programme
from socialcard.disbursement.runner import BatchProgress, run_batch
from socialcard.disbursement.services import Officer
from socialcard.http.context import RequestContext

logger = logging.getLogger(__name__)
UPLOAD_BYTES_MAX = 200 << 20
# A batch bigger than this is run on a background thread from the web; its page follows it.
RUN_IN_BACKGROUND_ABOVE = 20_000
_running: set[str] = set()
_running_lock = threading.Lock()  # a city-wide list of a million payees is about 60 MB as CSV
FINANCE = "finance"


def officer_of(context: RequestContext) -> Officer:
    principal = context.require_principal()
    return Officer(principal.staff_id, principal.department_code)


def sees_all(officer: Officer) -> bool:
    """The finance bureau approves and pays every programme, so it sees every batch."""
    return officer.department_code == FINANCE


def visible_batch(session: Session, context: RequestContext, batch_no: str) -> DisbursementBatch:
    """The batch, if the caller's department prepared it or the caller is the finance bureau."""
    batch = queries.get_batch(session, batch_no)
    officer = officer_of(context)
    if not sees_all(officer) and batch.department_code != officer.department_code:
        raise NotProgrammeDepartment(batch.batch_no, officer.department_code)
    return batch


def programmes_of(session: Session, officer: Officer) -> list[Programme]:
    from socialcard.disbursement.programmes import list_programmes

    return [
        p
        for p in list_programmes(session)
        if sees_all(officer) or officer.department_code in p.departments
    ]


def audit_disbursement(
    session: Session,
    platform: Platform,
    context: RequestContext,
    action: str,
    batch_no: str,
    **details: object,
) -> None:
    append_audit(
        session,
        context.event(
            action,
            AuditResult.SUCCESS,
            object_type="disbursement_batch",
            object_id=batch_no,
            details=dict(details),
        ),
        at=platform.clock.now(),
    )


def upload_list(
    session: Session,
    platform: Platform,
    context: RequestContext,
    *,
    programme_code: str,
    period: str,
    title: str,
    filename: str,
    data: bytes,
) -> DisbursementBatch:
    programme = get_programme(session, programme_code)
    rows = read_payee_rows(
        data, filename=filename, period=period, max_line_minor=programme.max_line_minor
    )
    batch = disbursement.create_batch(
        session,
        platform.keys,
        programme_code=programme_code,
        period=period,
        title=title,
        rows=rows,
        source_name=filename,
        source=data,
        officer=officer_of(context),
        at=platform.clock.now(),
    )
    audit_disbursement(
        session,
        platform,
        context,
        "disbursement.uploaded",
        batch.batch_no,
        programme=programme_code,
        lines=batch.line_count,
        accepted=batch.accepted_count,
        amount_minor=batch.accepted_minor,
    )
    return batch


class BatchAction:
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    CANCEL = "cancel"


ACTIONS = (BatchAction.SUBMIT, BatchAction.APPROVE, BatchAction.RETURN, BatchAction.CANCEL)


def act_on_batch(
    session: Session,
    platform: Platform,
    context: RequestContext,
    *,
    batch_no: str,
    action: str,
    reason: str | None = None,
) -> DisbursementBatch:
    visible_batch(session, context, batch_no)
    officer = officer_of(context)
    at = platform.clock.now()
    if action == BatchAction.SUBMIT:
        batch = disbursement.submit_batch(session, batch_no=batch_no, officer=officer, at=at)
    elif action == BatchAction.APPROVE:
        batch = disbursement.approve_batch(session, batch_no=batch_no, officer=officer, at=at)
    elif action == BatchAction.RETURN:
        batch = disbursement.return_batch(
            session, batch_no=batch_no, reason=reason or "退回修改", officer=officer
        )
    elif action == BatchAction.CANCEL:
        batch = disbursement.cancel_batch(session, batch_no=batch_no, officer=officer)
    else:
        raise ValueError(action)
    audit_disbursement(
        session,
        platform,
        context,
        f"disbursement.{action}",
        batch.batch_no,
        status=batch.status.value,
        amount_minor=batch.accepted_minor,
        **({"reason": reason} if reason else {}),
    )
    return batch


def run_and_audit(platform: Platform, context: RequestContext, batch_no: str) -> BatchProgress:
    """Take an approved batch as far as the banks allow (outside any request transaction: the
    runner commits step by step)."""
    with platform.session() as session:
        visible_batch(session, context, batch_no)
    progress = run_batch(
        platform.sessions, platform.keys, platform.bank, batch_no, at=platform.clock.now()
    )
    with platform.session() as session, transaction(session):
        audit_disbursement(
            session,
            platform,
            context,
            "disbursement.run",
            batch_no,
            status=progress.status.value,
            files_sent=progress.files_sent,
            returns_applied=progress.returns_applied,
        )
    return progress


def is_running(batch_no: str) -> bool:
    """Whether this process is running the batch on a background thread now."""
    with _running_lock:
        return batch_no in _running


def run_in_background(platform: Platform, context: RequestContext, batch_no: str) -> bool:
    """Start the run on a daemon thread (once per batch at a time); False if one is running.
    A crash of the process leaves the batch resumable: `run` again finishes it."""
    with platform.session() as session:
        visible_batch(session, context, batch_no)
    with _running_lock:
        if batch_no in _running:
            return False
        _running.add(batch_no)

    def work() -> None:
        try:
            run_and_audit(platform, context, batch_no)
        except Exception:
            logger.exception("disbursement run of %s stopped; run it again to resume", batch_no)
        finally:
            with _running_lock:
                _running.discard(batch_no)

    threading.Thread(target=work, name=f"disbursement-{batch_no}", daemon=True).start()
    return True


@dataclass(frozen=True, slots=True)
class ReissueRequest:
    programme_code: str
    period: str
    line_ids: list[int] | None


def reissue(
    session: Session, platform: Platform, context: RequestContext, request: ReissueRequest
) -> DisbursementBatch:
    batch = disbursement.reissue_failed_lines(
        session,
        platform.keys,
        programme_code=request.programme_code,
        period=request.period,
        line_ids=request.line_ids,
        officer=officer_of(context),
        at=platform.clock.now(),
        decrypt=platform.keys.decrypt,
    )
    audit_disbursement(
        session,
        platform,
        context,
        "disbursement.reissued",
        batch.batch_no,
        lines=batch.accepted_count,
        amount_minor=batch.accepted_minor,
    )
    return batch


def settle_correction(
    session: Session,
    platform: Platform,
    context: RequestContext,
    *,
    line_id: int,
    note: str,
    fixed: bool,
) -> None:
    """A failed line in the correction queue: confirmed fixed at the bank (payable again) or
    closed for good; audited either way."""
    from socialcard.disbursement.services import close_correction, mark_account_fixed

    officer = officer_of(context)
    if fixed:
        line = mark_account_fixed(
            session, line_id=line_id, note=note, officer=officer, at=platform.clock.now()
        )
    else:
        line = close_correction(session, line_id=line_id, note=note, officer=officer)
    batch = session.get_one(DisbursementBatch, line.batch_id)
    audit_disbursement(
        session,
        platform,
        context,
        "disbursement.correction_fixed" if fixed else "disbursement.correction_closed",
        batch.batch_no,
        line=line_id,
        note=note,
    )
