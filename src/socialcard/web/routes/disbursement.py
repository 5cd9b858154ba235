"""The department console for money (发放): programmes and batches, uploading a payee list and
seeing its validation, the finance bureau's approval queue, a batch's progress, reconciliation
and lines, and the correction queue. What a visitor sees is scoped to their department (the
finance bureau sees all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from socialcard.bootstrap import Platform
from socialcard.cards.models import PARTNER_BANKS
from socialcard.db import transaction
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
from socialcard.disbursement.reconciliation import reconcile
from socialcard.errors import DomainError
from socialcard.http.context import Context, DbSession, PlatformDep, RequestContext
from socialcard.http.disbursement import (
    RUN_IN_BACKGROUND_ABOVE,
    UPLOAD_BYTES_MAX,
    ReissueRequest,
    act_on_batch,
    is_running,
    officer_of,
    programmes_of,
    reissue,
    run_and_audit,
    run_in_background,
    sees_all,
    settle_correction,
    upload_list,
    visible_batch,
)
from socialcard.ledger import queries as ledger_queries
from socialcard.web.charts import BarItem, count_label, horizontal_bar_chart, stacked_bar_chart
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.rendering import refused_page, render_page

router = APIRouter()

NOTICES = {
    "uploaded": "名单已上传并校验。请核对未通过的明细，确认无误后提交财政审核。",
    "submit": "已提交财政部门审核。",
    "approve": "已审核通过，发放资金已在账本中冻结。可以送盘发放。",
    "return": "已退回经办部门修改。",
    "cancel": "批次已作废，未发放任何资金。",
    "run": "已送盘并处理银行回盘。",
    "running": "正在送盘并处理银行回盘；本页每 3 秒刷新一次，直到完成。",
    "reissued": "已生成纠错重发批次，请提交财政审核。",
    "closed": "该笔已从纠错队列移出。",
    "fixed": "已确认银行账户处理完毕，该笔可重发。",
}
BANK_REASON_HINTS = {
    "not_activated": "请持卡人到开户银行网点激活社保卡银行账户",
    "account_lost": "社保卡已挂失：补卡后重发",
    "account_closed": "账户已销户：换卡后重发",
    "account_frozen": "账户冻结：请持卡人到银行处理",
    "name_mismatch": "户名不符：核对户籍姓名与银行户名",
    "id_mismatch": "证件不符：到银行更新证件信息",
    "no_such_account": "账户不存在：核对社保卡银行账户",
    "dormant": "久悬账户：请持卡人到银行激活",
}


def _programme_names(session: Session) -> dict[int, Programme]:
    from socialcard.disbursement.programmes import list_programmes

    return {p.id: p for p in list_programmes(session)}


@router.get("/disbursement")
def overview(request: Request, ctx: Context, session: DbSession) -> Response:
    """Programmes of the department with their budgets, recent batches, the upload form."""
    officer = officer_of(ctx)
    programmes = programmes_of(session, officer)
    budgets = {p.code: ledger_queries.get_balance(session, p.funding_account) for p in programmes}
    batches = queries.list_batches(
        session, department_code=None if sees_all(officer) else officer.department_code, limit=50
    )
    waiting = [b for b in batches if b.status is BatchStatus.SUBMITTED]
    return render_page(
        request,
        "disbursement/index.html",
        programmes=programmes,
        budgets=budgets,
        batches=batches,
        programme_of=_programme_names(session),
        status_labels=BATCH_STATUS_LABELS,
        waiting=waiting,
        errors=FormErrors(),
        form={},
        notice=NOTICES.get(request.query_params.get("done", "")),
    )


@router.post("/disbursement/batches")
async def upload(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    programme_code: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    form = {"programme_code": programme_code, "period": period, "title": title}
    try:
        if file is None or not file.filename:
            raise PayeeListUnreadable("请选择名单文件（.xlsx 或 .csv）", field="file")
        data = await file.read(UPLOAD_BYTES_MAX + 1)
        if len(data) > UPLOAD_BYTES_MAX:
            raise PayeeListUnreadable("文件超过 200 MB，请分批上传", field="file")
        if not period.strip() or len(period.strip()) not in (4, 7):
            raise PayeeListUnreadable("期间填写为 2026 或 2026-11", field="period")
        filename = file.filename

        def store() -> str:
            with transaction(session):
                return upload_list(
                    session,
                    platform,
                    ctx,
                    programme_code=programme_code,
                    period=period.strip(),
                    title=title.strip() or "发放名单",
                    filename=filename,
                    data=data,
                ).batch_no

        # Validating a big list is long blocking work: off the event loop.
        batch_no = await run_in_threadpool(store)
    except DomainError as error:
        session.rollback()
        officer = officer_of(ctx)
        programmes = programmes_of(session, officer)
        return render_page(
            request,
            "disbursement/index.html",
            programmes=programmes,
            budgets={
                p.code: ledger_queries.get_balance(session, p.funding_account) for p in programmes
            },
            batches=queries.list_batches(
                session, department_code=None if sees_all(officer) else officer.department_code
            ),
            programme_of=_programme_names(session),
            status_labels=BATCH_STATUS_LABELS,
            waiting=[],
            errors=FormErrors.of(error),
            form=form,
            notice=None,
            status_code=FormErrors.of(error).status_code,
        )
    return see_other(f"/disbursement/batches/{batch_no}?done=uploaded")


def _render_batch(
    request: Request,
    session: Session,
    ctx: RequestContext,
    batch: DisbursementBatch,
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
) -> Response:
    programme = session.get_one(Programme, batch.programme_id)
    by_bank = queries.count_lines_by_bank(session, batch)
    chart = stacked_bar_chart(
        [
            (
                PARTNER_BANKS.get(bank, bank),
                [
                    ("paid", "已到账", figures.get("paid_count", 0)),
                    ("failed", "银行退回", figures.get("failed_count", 0)),
                    ("reserved", "待回盘", figures.get("reserved_count", 0)),
                    ("queued", "待审核", figures.get("queued_count", 0)),
                ],
            )
            for bank, figures in sorted(by_bank.items())
        ]
    )
    rejections = queries.count_rejections(session, batch)
    rejection_chart = horizontal_bar_chart(
        [
            BarItem(REJECTIONS.get(code, code), count)
            for code, count in sorted(rejections.items(), key=lambda kv: -kv[1])
        ],
        label_width=300,
        tick_label=count_label,
    )
    officer = officer_of(ctx)
    status = request.query_params.get("status")
    shown = [LineStatus(status)] if status in {s.value for s in LineStatus} else None
    return render_page(
        request,
        "disbursement/batch.html",
        batch=batch,
        programme=programme,
        status_labels=BATCH_STATUS_LABELS,
        line_labels=LINE_STATUS_LABELS,
        shown_status_of=shown_line_status,
        rejections=REJECTIONS,
        hints=BANK_REASON_HINTS,
        chart=chart,
        rejection_chart=rejection_chart if rejections else None,
        lines=queries.list_lines(session, batch, statuses=shown, limit=200),
        shown_status=status,
        running=is_running(batch.batch_no),
        report=reconcile(session, batch)
        if batch.status
        in (
            BatchStatus.SENT,
            BatchStatus.COMPLETED,
            BatchStatus.COMPLETED_WITH_FAILURES,
        )
        else None,
        banks=PARTNER_BANKS,
        is_preparer=officer.department_code == batch.department_code,
        is_finance=sees_all(officer),
        errors=errors or FormErrors(),
        notice=notice or NOTICES.get(request.query_params.get("done", "")),
        status_code=errors.status_code if errors else 200,
    )


@router.get("/disbursement/batches/{batch_no}")
def batch_page(batch_no: str, request: Request, ctx: Context, session: DbSession) -> Response:
    return _render_batch(request, session, ctx, visible_batch(session, ctx, batch_no))


@router.get("/disbursement/batches/{batch_no}/rejections.csv")
def rejections_file(batch_no: str, ctx: Context, session: DbSession) -> Response:
    batch = visible_batch(session, ctx, batch_no)
    return Response(
        queries.rejections_csv(session, batch),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{batch.batch_no}-rejections.csv"'},
    )


@router.get("/disbursement/batches/{batch_no}/lines.csv")
def lines_file(batch_no: str, ctx: Context, session: DbSession) -> Response:
    batch = visible_batch(session, ctx, batch_no)
    return Response(
        queries.lines_csv(session, batch),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{batch.batch_no}-lines.csv"'},
    )


def _act(
    request: Request,
    ctx: RequestContext,
    session: Session,
    platform: Platform,
    batch_no: str,
    action: str,
    reason: str | None,
) -> Response:
    try:
        with transaction(session):
            act_on_batch(session, platform, ctx, batch_no=batch_no, action=action, reason=reason)
    except DomainError as error:
        session.rollback()
        batch = visible_batch(session, ctx, batch_no)
        return _render_batch(request, session, ctx, batch, errors=FormErrors.of(error))
    return see_other(f"/disbursement/batches/{batch_no}?done={action}")


@router.post("/disbursement/batches/{batch_no}/submit")
def submit(
    batch_no: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return _act(request, ctx, session, platform, batch_no, "submit", None)


@router.post("/disbursement/batches/{batch_no}/cancel")
def cancel(
    batch_no: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return _act(request, ctx, session, platform, batch_no, "cancel", None)


@router.post("/disbursement/batches/{batch_no}/approve")
def approve(
    batch_no: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return _act(request, ctx, session, platform, batch_no, "approve", None)


@router.post("/disbursement/batches/{batch_no}/return")
def send_back(
    batch_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(request, ctx, session, platform, batch_no, "return", reason.strip() or "退回修改")


@router.post("/disbursement/batches/{batch_no}/run")
def run(
    batch_no: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """Send the batch and apply the returns. A big batch runs in the background and its page
    follows it (refreshing itself); a small one is done before the page comes back."""
    batch = visible_batch(session, ctx, batch_no)
    big = batch.accepted_count > RUN_IN_BACKGROUND_ABOVE
    session.close()
    try:
        if big:
            run_in_background(platform, ctx, batch_no)
            return see_other(f"/disbursement/batches/{batch_no}?done=running")
        run_and_audit(platform, ctx, batch_no)
    except DomainError as error:
        with platform.session() as fresh:
            batch = visible_batch(fresh, ctx, batch_no)
            return _render_batch(request, fresh, ctx, batch, errors=FormErrors.of(error))
    return see_other(f"/disbursement/batches/{batch_no}?done=run")


@router.get("/disbursement/approvals")
def approvals(request: Request, ctx: Context, session: DbSession) -> Response:
    """The finance bureau's queue: submitted batches, oldest first."""
    ctx.require_principal()
    waiting = list(reversed(queries.list_batches(session, statuses=[BatchStatus.SUBMITTED])))
    return render_page(
        request,
        "disbursement/approvals.html",
        batches=waiting,
        programme_of=_programme_names(session),
        status_labels=BATCH_STATUS_LABELS,
    )


@router.get("/disbursement/corrections")
def corrections(request: Request, ctx: Context, session: DbSession) -> Response:
    """Failed payments with the reason, the fix, and whether each can be paid again today."""
    officer = officer_of(ctx)
    items = queries.list_corrections(
        session, department_code=None if sees_all(officer) else officer.department_code
    )
    groups: dict[tuple[str, str], list[object]] = {}
    for item in items:
        groups.setdefault((item.programme_code, item.period), []).append(item)
    return render_page(
        request,
        "disbursement/corrections.html",
        groups=groups,
        programmes={p.code: p for p in _programme_names(session).values()},
        rejections=REJECTIONS,
        hints=BANK_REASON_HINTS,
        notice=NOTICES.get(request.query_params.get("done", "")),
        errors=FormErrors(),
    )


@router.post("/disbursement/corrections/reissue")
def reissue_ready(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    programme_code: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
) -> Response:
    try:
        with transaction(session):
            batch = reissue(session, platform, ctx, ReissueRequest(programme_code, period, None))
            batch_no = batch.batch_no
    except DomainError as error:
        session.rollback()
        return refused_page(request, error, back="/disbursement/corrections")
    return see_other(f"/disbursement/batches/{batch_no}?done=reissued")


def _settle(
    request: Request,
    ctx: RequestContext,
    session: Session,
    platform: Platform,
    *,
    line_id: int,
    note: str,
    fixed: bool,
) -> Response:
    try:
        with transaction(session):
            settle_correction(session, platform, ctx, line_id=line_id, note=note, fixed=fixed)
    except DomainError as error:
        session.rollback()
        return refused_page(request, error, back="/disbursement/corrections")
    return see_other(f"/disbursement/corrections?done={'fixed' if fixed else 'closed'}")


@router.post("/disbursement/corrections/{line_id}/fixed")
def fixed(
    line_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    note = note.strip() or "银行已处理"
    return _settle(request, ctx, session, platform, line_id=line_id, note=note, fixed=True)


@router.post("/disbursement/corrections/{line_id}/close")
def close(
    line_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    note = note.strip() or "不再发放"
    return _settle(request, ctx, session, platform, line_id=line_id, note=note, fixed=False)
