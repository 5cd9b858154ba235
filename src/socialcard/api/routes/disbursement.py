"""Disbursement for departments, the finance bureau and their systems: programmes, payee-list
upload, the maker-checker actions, running a batch, reconciliation, the correction queue. Every
unsafe call takes an Idempotency-Key header."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import File, Form, Header, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from socialcard.api.routes import api_router
from socialcard.disbursement import queries
from socialcard.disbursement.errors import (
    BATCH_STATUS_LABELS,
    LINE_STATUS_LABELS,
    PayeeListUnreadable,
)
from socialcard.disbursement.models import (
    BatchStatus,
    DisbursementBatch,
    LineStatus,
    Programme,
    shown_line_status,
)
from socialcard.disbursement.payee_lists import REJECTIONS
from socialcard.disbursement.programmes import fund_programme
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.disbursement import (
    UPLOAD_BYTES_MAX,
    ReissueRequest,
    act_on_batch,
    audit_disbursement,
    officer_of,
    programmes_of,
    reissue,
    run_and_audit,
    sees_all,
    settle_correction,
    upload_list,
    visible_batch,
)
from socialcard.http.idempotency import json_once
from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.money import Money

router = api_router("/disbursement", "disbursement")
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="the same key and body replays the first answer"),
]


class ProgrammeOut(BaseModel):
    code: str
    item_no: int
    name: str
    short_name: str
    departments: list[str]
    approving_department: str
    funding_account: str
    max_line_minor: int


class BatchOut(BaseModel):
    batch_no: str
    programme_code: str
    department_code: str
    period: str
    title: str
    status: str
    status_label: str
    line_count: int
    accepted_count: int
    accepted_minor: int
    rejected_count: int
    paid_count: int
    paid_minor: int
    failed_count: int
    failed_minor: int
    prepared_at: datetime
    approved_at: datetime | None
    completed_at: datetime | None
    returned_reason: str | None
    rejections: dict[str, int] = Field(default_factory=dict)


class LineOut(BaseModel):
    seq: int
    resident_id_masked: str
    name: str
    amount_minor: int
    status: str
    status_label: str
    reject_code: str | None
    reject_reason: str | None
    bank_code: str | None
    end_to_end_id: str
    bank_reason_code: str | None
    bank_reason_text: str | None
    correction: str | None


class ActionIn(BaseModel):
    reason: str | None = Field(default=None, max_length=200)


class FundingIn(BaseModel):
    amount_minor: int = Field(gt=0, description="fen")
    reference: str = Field(min_length=1, max_length=60, description="the budget document")


class ReissueIn(BaseModel):
    programme_code: str
    period: str
    line_ids: list[int] | None = None


class CloseIn(BaseModel):
    note: str = Field(min_length=1, max_length=200)


def _programme_out(programme: Programme) -> ProgrammeOut:
    return ProgrammeOut(
        code=programme.code,
        item_no=programme.item_no,
        name=programme.name,
        short_name=programme.short_name,
        departments=list(programme.departments),
        approving_department=programme.approving_department,
        funding_account=programme.funding_account,
        max_line_minor=programme.max_line_minor,
    )


def batch_out(session: Session, batch: DisbursementBatch) -> dict[str, Any]:
    programme = session.get_one(Programme, batch.programme_id)
    return BatchOut(
        batch_no=batch.batch_no,
        programme_code=programme.code,
        department_code=batch.department_code,
        period=batch.period,
        title=batch.title,
        status=batch.status.value,
        status_label=BATCH_STATUS_LABELS[batch.status.value],
        line_count=batch.line_count,
        accepted_count=batch.accepted_count,
        accepted_minor=batch.accepted_minor,
        rejected_count=batch.rejected_count,
        paid_count=batch.paid_count,
        paid_minor=batch.paid_minor,
        failed_count=batch.failed_count,
        failed_minor=batch.failed_minor,
        prepared_at=batch.prepared_at,
        approved_at=batch.approved_at,
        completed_at=batch.completed_at,
        returned_reason=batch.returned_reason,
        rejections=queries.count_rejections(session, batch),
    ).model_dump(mode="json")


@router.get("/programmes", response_model=list[ProgrammeOut])
def list_programmes(ctx: Context, session: DbSession) -> list[ProgrammeOut]:
    """The payout programmes the caller's department prepares (all of them for finance)."""
    return [_programme_out(p) for p in programmes_of(session, officer_of(ctx))]


@router.post("/programmes/{code}/funding", status_code=201)
def fund(
    code: str,
    body: FundingIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Allocate budget to a programme (a ledger transfer from the treasury)."""

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        fund_programme(
            session,
            code,
            amount=Money(body.amount_minor),
            reference=body.reference,
            at=platform.clock.now(),
        )
        audit_disbursement(
            session,
            platform,
            ctx,
            "disbursement.funded",
            code,
            amount_minor=body.amount_minor,
            reference=body.reference,
        )
        return 201, {
            "programme": code,
            "amount_minor": body.amount_minor,
            "reference": body.reference,
        }

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /disbursement/programmes/{code}/funding",
        body=body.model_dump(),
        operation=operation,
    )


@router.post("/batches", response_model=BatchOut, status_code=201)
async def upload(
    ctx: Context,
    platform: PlatformDep,
    programme_code: Annotated[str, Form()],
    period: Annotated[str, Form(pattern=r"^\d{4}(-\d{2})?$")],
    title: Annotated[str, Form(min_length=1, max_length=100)],
    file: Annotated[UploadFile, File(description="XLSX or CSV: 社会保障号码, 姓名, 金额, 摘要")],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Upload a payee list: a drafted batch with every line validated (refused lines carry their
    reason; GET …/rejections.csv lists them)."""
    data = await file.read(UPLOAD_BYTES_MAX + 1)
    if len(data) > UPLOAD_BYTES_MAX:
        raise PayeeListUnreadable("文件超过 200 MB，请分批上传")
    filename = file.filename or "list.csv"

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        batch = upload_list(
            session,
            platform,
            ctx,
            programme_code=programme_code,
            period=period,
            title=title,
            filename=filename,
            data=data,
        )
        session.flush()
        return 201, batch_out(session, batch)

    # The validation of a big list is long blocking work: off the event loop.
    return await run_in_threadpool(
        json_once,
        platform,
        ctx,
        key=idempotency_key,
        route="POST /disbursement/batches",
        body={
            "programme": programme_code,
            "period": period,
            "title": title,
            "file": sm3_hex(data),
            "name": filename,
        },
        operation=operation,
    )


@router.get("/batches", response_model=list[BatchOut])
def list_batches(
    ctx: Context,
    session: DbSession,
    status: Annotated[BatchStatus | None, Query()] = None,
) -> list[dict[str, Any]]:
    officer = officer_of(ctx)
    batches = queries.list_batches(
        session,
        statuses=[status] if status else None,
        department_code=None if sees_all(officer) else officer.department_code,
    )
    return [batch_out(session, b) for b in batches]


@router.get("/batches/{batch_no}", response_model=BatchOut)
def show_batch(batch_no: str, ctx: Context, session: DbSession) -> dict[str, Any]:
    return batch_out(session, visible_batch(session, ctx, batch_no))


@router.get("/batches/{batch_no}/lines", response_model=list[LineOut])
def batch_lines(
    batch_no: str,
    ctx: Context,
    session: DbSession,
    status: Annotated[LineStatus | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[LineOut]:
    batch = visible_batch(session, ctx, batch_no)
    lines = queries.list_lines(
        session, batch, statuses=[status] if status else None, limit=limit, offset=offset
    )
    return [
        LineOut(
            seq=line.seq,
            resident_id_masked=line.resident_id_masked,
            name=line.name,
            amount_minor=line.amount_minor,
            status=shown_line_status(line.status, batch.status).value,
            status_label=LINE_STATUS_LABELS[shown_line_status(line.status, batch.status).value],
            reject_code=line.reject_code,
            reject_reason=REJECTIONS.get(line.reject_code or "") if line.reject_code else None,
            bank_code=line.bank_code,
            end_to_end_id=line.end_to_end_id,
            bank_reason_code=line.bank_reason_code,
            bank_reason_text=line.bank_reason_text,
            correction=line.correction.value if line.correction else None,
        )
        for line in lines
    ]


@router.get("/batches/{batch_no}/rejections.csv")
def rejections(batch_no: str, ctx: Context, session: DbSession) -> Response:
    """Every refused line with its reason (UTF-8 CSV that Excel opens)."""
    batch = visible_batch(session, ctx, batch_no)
    return Response(
        queries.rejections_csv(session, batch),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{batch.batch_no}-rejections.csv"'},
    )


def _action_route(action: str, summary: str) -> None:
    def handler(
        batch_no: str,
        ctx: Context,
        platform: PlatformDep,
        body: ActionIn | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        given = body or ActionIn()

        def operation(session: Session) -> tuple[int, dict[str, Any]]:
            batch = act_on_batch(
                session, platform, ctx, batch_no=batch_no, action=action, reason=given.reason
            )
            session.flush()
            return 200, batch_out(session, batch)

        return json_once(
            platform,
            ctx,
            key=idempotency_key,
            route=f"POST /disbursement/batches/{batch_no}/{action}",
            body=given.model_dump(),
            operation=operation,
        )

    handler.__name__ = f"batch_{action}"
    handler.__doc__ = summary
    router.add_api_route(
        f"/batches/{{batch_no}}/{action}",
        handler,
        methods=["POST"],
        response_model=BatchOut,
        summary=summary,
    )


for _action, _summary in (
    ("submit", "The preparing department sends the batch for approval."),
    ("approve", "The finance bureau approves (never the preparer): the money is reserved."),
    ("return", "The finance bureau sends the batch back to the preparer with a reason."),
    ("cancel", "Withdraw a batch before approval; nothing is paid."),
):
    _action_route(_action, _summary)


class ProgressOut(BaseModel):
    batch_no: str
    status: str
    files_prepared: int
    files_sent: int
    returns_applied: int
    waiting_for: list[str]
    reconciliation: dict[str, Any] | None


@router.post("/batches/{batch_no}/run", response_model=ProgressOut)
def run(
    batch_no: str, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> ProgressOut:
    """Send an approved batch to its banks and apply the returns that have come back. Running
    again is always safe (late returns, a crash): the key is checked for form, not stored,
    because the answer changes as the banks answer."""
    from socialcard.http.idempotency import check_key

    check_key(idempotency_key)
    progress = run_and_audit(platform, ctx, batch_no)
    return ProgressOut(
        batch_no=progress.batch_no,
        status=progress.status.value,
        files_prepared=progress.files_prepared,
        files_sent=progress.files_sent,
        returns_applied=progress.returns_applied,
        waiting_for=progress.waiting_for,
        reconciliation=progress.reconciliation,
    )


@router.get("/batches/{batch_no}/reconciliation")
def reconciliation(batch_no: str, ctx: Context, session: DbSession) -> dict[str, Any]:
    """The batch's reconciliation as it stands: per bank and in the ledger."""
    from socialcard.disbursement.reconciliation import reconcile

    return reconcile(session, visible_batch(session, ctx, batch_no))


class CorrectionOut(BaseModel):
    line_id: int
    batch_no: str
    programme_code: str
    period: str
    name: str
    resident_id_masked: str
    amount_minor: int
    bank_reason_code: str | None
    bank_reason_text: str | None
    ready: bool
    blocker: str | None


@router.get("/corrections", response_model=list[CorrectionOut])
def corrections(
    ctx: Context,
    session: DbSession,
    programme_code: str | None = None,
    period: str | None = None,
) -> list[CorrectionOut]:
    """Failed payments waiting for a fix, with whether each can be paid again today."""
    officer = officer_of(ctx)
    items = queries.list_corrections(
        session,
        programme_code=programme_code,
        period=period,
        department_code=None if sees_all(officer) else officer.department_code,
    )
    return [
        CorrectionOut(
            line_id=i.line.id,
            batch_no=i.batch_no,
            programme_code=i.programme_code,
            period=i.period,
            name=i.line.name,
            resident_id_masked=i.line.resident_id_masked,
            amount_minor=i.line.amount_minor,
            bank_reason_code=i.line.bank_reason_code,
            bank_reason_text=i.line.bank_reason_text,
            ready=i.ready,
            blocker=i.blocker,
        )
        for i in items
    ]


@router.post("/corrections/reissue", response_model=BatchOut, status_code=201)
def reissue_corrections(
    body: ReissueIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """A new batch (new numbers) for the ready corrections; it needs approval like any other."""

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        batch = reissue(
            session,
            platform,
            ctx,
            ReissueRequest(body.programme_code, body.period, body.line_ids),
        )
        session.flush()
        return 201, batch_out(session, batch)

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /disbursement/corrections/reissue",
        body=body.model_dump(),
        operation=operation,
    )


def _correction_route(action: str, fixed: bool, summary: str) -> None:
    def handler(
        line_id: int,
        body: CloseIn,
        ctx: Context,
        platform: PlatformDep,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        def operation(session: Session) -> tuple[int, dict[str, Any]]:
            settle_correction(session, platform, ctx, line_id=line_id, note=body.note, fixed=fixed)
            return 200, {"line_id": line_id, "action": action}

        return json_once(
            platform,
            ctx,
            key=idempotency_key,
            route=f"POST /disbursement/corrections/{line_id}/{action}",
            body=body.model_dump(),
            operation=operation,
        )

    handler.__name__ = f"correction_{action}"
    handler.__doc__ = summary
    router.add_api_route(
        f"/corrections/{{line_id}}/{action}", handler, methods=["POST"], summary=summary
    )


_correction_route(
    "fixed", True, "The bank put the account right (unfrozen, reactivated): payable again."
)
_correction_route("close", False, "Take a failed payment out of the queue for good, with why.")
