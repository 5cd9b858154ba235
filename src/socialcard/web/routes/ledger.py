"""The ledger for the finance bureau and the fund auditors (资金账本): the books proved as the page
opens (what `socialcard ledger verify` proves), the programmes' budgets as a chart, every group
of accounts with its balance, and an account's statement. Read only: money moves through the
services, never from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from socialcard.disbursement.programmes import list_programmes
from socialcard.disbursement.reconciliation import verify_file_reservations
from socialcard.http.context import Context, DbSession
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.models import LedgerAccount, NormalSide
from socialcard.ledger.queries import Balance
from socialcard.web.charts import stacked_bar_chart
from socialcard.web.rendering import render_page

router = APIRouter()

# The first segment of an account's code and what the group holds, in the order shown.
GROUPS: Final = {
    "programme": "发放项目预算",
    "bank": "合作银行代发与代收户",
    "department": "部门收费收入",
    "fund": "社会保险基金",
    "person": "个人账户",
    "external": "外部往来（国库、单位、异地）",
}
ACCOUNTS_SHOWN: Final = 200
STATEMENT_LINES: Final = 100
SIDE_NAMES: Final = {NormalSide.DEBIT: "借", NormalSide.CREDIT: "贷"}
PHASE_NAMES: Final = {"single": "入账", "pending": "冻结", "post": "冻结转入账", "void": "冻结释放"}


@dataclass(frozen=True, slots=True)
class Group:
    code: str
    name: str
    accounts: int
    posted: int  # Σ balances on each account's normal side
    reserved: int  # Σ pending against the accounts (reservations not yet posted or voided)


def _group_of(code: str) -> str:
    return code.split(":", 1)[0]


def _groups(balances: list[tuple[LedgerAccount, Balance]]) -> list[Group]:
    sums: dict[str, list[int]] = {}
    for account, balance in balances:
        row = sums.setdefault(_group_of(account.code), [0, 0, 0])
        row[0] += 1
        row[1] += balance.posted
        row[2] += balance.reserved
    order = [*GROUPS, *sorted(set(sums) - set(GROUPS))]
    return [Group(code, GROUPS.get(code, code), *sums[code]) for code in order if code in sums]


@router.get("/ledger")
def ledger_page(
    request: Request, ctx: Context, session: DbSession, group: str = "programme"
) -> Response:
    """The books proved, the budgets' chart, the groups and one group's accounts."""
    ctx.require_principal()
    verification = ledger_queries.verify_ledger(session)
    verification.problems += verify_file_reservations(session)
    balances = ledger_queries.list_balances(session)
    names = {p.funding_account: p.short_name for p in list_programmes(session)}
    # Each funded programme's budget: what was paid out, what is reserved for batches in the
    # banks' hands, what is still free; the bar's length is what the treasury allocated.
    budgets = [
        (
            f"{names.get(account.code, account.code)}",
            (
                ("paid", "已发放", balance.debits_posted),
                ("reserved", "冻结待回盘", balance.debits_pending),
                ("free", "可用", balance.available),
            ),
        )
        for account, balance in balances
        if account.code in names and balance.credits_posted > 0
    ]
    chosen = [(a, b) for a, b in balances if _group_of(a.code) == group]
    return render_page(
        request,
        "ledger/index.html",
        verification=verification,
        groups=_groups(balances),
        group=group,
        group_name=GROUPS.get(group, group),
        accounts=chosen[:ACCOUNTS_SHOWN],
        accounts_total=len(chosen),
        accounts_shown=ACCOUNTS_SHOWN,
        chart=stacked_bar_chart(budgets, label_width=170, value_width=150) if budgets else None,
        sides=SIDE_NAMES,
    )


@router.get("/ledger/accounts/{code}")
def account_page(code: str, request: Request, ctx: Context, session: DbSession) -> Response:
    """One account: its balance and its newest transfers, signed on its normal side."""
    ctx.require_principal()
    account = ledger_queries.get_account(session, code)  # an unknown code: 404, named
    return render_page(
        request,
        "ledger/account.html",
        account=account,
        balance=ledger_queries.get_balance(session, code),
        lines=ledger_queries.list_transfers(session, code, limit=STATEMENT_LINES),
        lines_shown=STATEMENT_LINES,
        group=_group_of(code),
        group_name=GROUPS.get(_group_of(code), _group_of(code)),
        sides=SIDE_NAMES,
        phases=PHASE_NAMES,
    )
