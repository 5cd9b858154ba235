"""查验: the public page where anyone holding a printed contribution certificate, rights
statement or transfer certificate checks it by its verification code — what the document said
when it was issued (the holder's name masked), laid out for reading, or a clear "not found".
No login; the code is the only key (12 characters from 32: not guessable)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.errors import InvalidField
from socialcard.http.context import DbSession
from socialcard.http.insurance import VERIFY_PATH
from socialcard.insurance.documents import TITLES, find_document, format_code
from socialcard.insurance.errors import DocumentNotFound
from socialcard.insurance.models import DocumentKind, InsuranceDocument, MonthStatus
from socialcard.insurance.queries import COUNTED
from socialcard.insurance.rules import period_label
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SCHEMES
from socialcard.kernel.money import Money
from socialcard.web.rendering import render_page

router = APIRouter()


def _yuan(minor: int) -> str:
    return Money(minor).format_yuan()


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()  # columns aligned right


@dataclass(frozen=True, slots=True)
class Verified:
    """A document as it was issued, laid out for reading (never the holder's full name)."""

    title: str
    document_no: str
    issued_at: datetime
    name: str
    resident_id: str
    code: str
    digest: str
    facts: list[tuple[str, str]]
    tables: list[Table]


def _months_text(count: object) -> str:
    return f"{count} 个月"


def _money(value: object) -> str:
    return _yuan(int(value)) if isinstance(value, int) else "—"


def _enrolment_table(figures: Mapping[str, Any]) -> Table:
    return Table(
        "参保情况",
        ["险种", "参保身份", "状态", "参保日期", "终止日期", "参保单位"],
        [
            [e["scheme"], e["kind"], e["status"], e["started_on"], e.get("ended_on") or "—",
             e.get("employer") or "个人参保"]
            for e in figures.get("enrolments", [])
        ],
    )  # fmt: skip


def _resident_table(lines: Sequence[Mapping[str, Any]]) -> Table:
    return Table(
        "城乡居民社会保险缴费",
        ["年度", "险种", "个人缴费", "政府补贴", "状态"],
        [
            [str(r["year"]), r["scheme"], _money(r["amount"]), _money(r["subsidy"]), r["status"]]
            for r in lines
        ],
        frozenset({2, 3}),
    )


def _certificate(figures: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[Table]]:
    counted = figures.get("months_counted", {})
    per_year: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for line in figures.get("months", []):
        year = per_year[int(line["period"]) // 100]
        if line.get("status_code") == MonthStatus.DUE.value:
            year[3] += 1
            continue
        if line.get("status_code") not in (s.value for s in COUNTED):
            continue
        year[0] += 1
        year[1] += line["pension"][1] + line["medical"][1] + line["unemployment"][1]
        year[2] += (
            line["pension"][0] + line["medical"][0] + line["unemployment"][0]
            + line["work_injury"] + line["maternity"]
        )  # fmt: skip
    facts = [
        ("缴费年度", f"{figures['first_year']}年至{figures['last_year']}年"),
        ("个人缴费合计", _money(figures.get("individual_total"))),
        ("单位缴费合计", _money(figures.get("employer_total"))),
        ("欠费月数", _months_text(figures.get("due_months", 0))),
        ("数据截至", figures.get("as_of", "")),
    ]
    tables = [
        Table(
            "各险种累计缴费月数",
            ["险种", "缴费月数"],
            [[SCHEMES[s].name, _months_text(counted.get(s.value, 0))] for s in EMPLOYEE_SCHEMES],
            frozenset({1}),
        ),
        Table(
            "按年度汇总",
            ["年度", "缴费月数", "个人缴费", "单位缴费", "欠费月数"],
            [
                [f"{y}年", _months_text(v[0]), _yuan(v[1]), _yuan(v[2]), _months_text(v[3])]
                for y, v in sorted(per_year.items())
            ],
            frozenset({1, 2, 3, 4}),
        ),
        _enrolment_table(figures),
    ]
    if figures.get("resident"):
        tables.append(_resident_table(figures["resident"]))
    return facts, tables


def _rights_statement(figures: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[Table]]:
    year = figures["year"]
    schemes = figures.get("schemes", {})
    facts = [
        ("年度", f"{year}年"),
        ("月平均缴费基数", _money(figures.get("year_base_average"))),
        ("本年个人缴费", _money(figures.get("year_individual"))),
        ("本年单位缴费", _money(figures.get("year_employer"))),
        ("本年欠费月数", _months_text(figures.get("year_due_months", 0))),
        ("数据截至", figures.get("as_of", "")),
    ]
    tables = [
        Table(
            "缴费月数",
            ["险种", "累计缴费月数", "其中在外地缴费", f"{year}年缴费月数"],
            [
                [
                    schemes[s.value]["name"],
                    _months_text(schemes[s.value]["months_total"]),
                    _months_text(schemes[s.value]["months_elsewhere"]),
                    _months_text(schemes[s.value]["months_year"]),
                ]
                for s in EMPLOYEE_SCHEMES
                if s.value in schemes
            ],
            frozenset({1, 2, 3}),
        ),
    ]
    accounts = figures.get("pension_accounts", [])
    if accounts:
        tables.append(
            Table(
                "养老保险个人账户",
                ["账户", "上年末余额", "本年记账额", "本年利息", "本年转移", "本年末余额",
                 "当前余额"],
                [
                    [a["scheme"], _money(a["opening"]), _money(a["credited"]),
                     _money(a["interest"]) if a["settled"] else "—",
                     _money(a["transferred"]),
                     _money(a["closing"]) if a["settled"] else "尚未结息",
                     _money(a["balance_now"])]
                    for a in accounts
                ],
                frozenset({1, 2, 3, 4, 5, 6}),
            )
        )  # fmt: skip
    medical = figures.get("medical_account")
    if medical:
        tables.append(
            Table(
                "职工基本医疗保险个人账户",
                [f"{year}年划入", f"{year}年结转、转入转出", f"{year}年支出", "当前余额"],
                [[_money(medical["credited_year"]), _money(medical.get("carried_year", 0)),
                  _money(medical["spent_year"]), _money(medical["balance_now"])]],
                frozenset({0, 1, 2, 3}),
            )
        )  # fmt: skip
    if figures.get("resident"):
        tables.append(_resident_table(figures["resident"]))
    if figures.get("transfers"):
        tables.append(
            Table(
                "社会保险关系转移",
                ["转移编号", "类型", "对方地区", "转移月数", "办理日期"],
                [
                    [t["no"], "转出" if t["direction"] == "out" else "转入", t["region"],
                     _months_text(t["months"]), t["on"]]
                    for t in figures["transfers"]
                ],
                frozenset({3}),
            )
        )  # fmt: skip
    tables.append(_enrolment_table(figures))
    return facts, tables


def _transfer_certificate(
    figures: Mapping[str, Any],
) -> tuple[list[tuple[str, str]], list[Table]]:
    order = {s.name: n for n, s in enumerate(SCHEMES.values())}
    schemes = sorted(figures.get("schemes", []), key=lambda s: order.get(s, len(order)))
    first, last = figures.get("first_period"), figures.get("last_period")
    outward = figures.get("direction") == "out"
    facts = [
        ("转移编号", figures["transfer_no"]),
        ("类型", "转出" if outward else "转入"),
        (
            "转入地" if outward else "转出地",
            f"{figures['region_name']}（{figures['region_code']}）",
        ),
        ("转移险种", "、".join(schemes) or "—"),
        ("缴费期间", f"{period_label(first)}至{period_label(last)}" if first and last else "—"),
        ("转移月数", _months_text(figures.get("months", 0))),
        ("养老保险个人账户", _money(figures.get("pension_account"))),
        ("医疗保险个人账户", _money(figures.get("medical_account"))),
    ]
    tables = [
        Table(
            "按年度缴费情况",
            ["年度", "缴费月数", "月平均缴费基数", "个人缴费", "单位缴费", "其中在外地缴费"],
            [
                [f"{y['year']}年", _months_text(max(y["months"].values(), default=0)),
                 _money(y["average_base"]), _money(y["individual"]), _money(y["employer"]),
                 _months_text(y["elsewhere_months"])]
                for y in figures.get("years", [])
            ],
            frozenset({1, 2, 3, 4, 5}),
        )
    ]  # fmt: skip
    return facts, tables


VERIFIED_LAYOUTS: Final[
    dict[
        DocumentKind,
        Callable[[Mapping[str, Any]], tuple[list[tuple[str, str]], list[Table]]],
    ]
] = {
    DocumentKind.CONTRIBUTION_CERTIFICATE: _certificate,
    DocumentKind.RIGHTS_STATEMENT: _rights_statement,
    DocumentKind.TRANSFER_CERTIFICATE: _transfer_certificate,
}


def verified_view(document: InsuranceDocument) -> Verified:
    """The stored figures in a fixed order (JSONB keeps neither key order nor our dicts')."""
    figures: Mapping[str, Any] = document.figures
    facts, tables = VERIFIED_LAYOUTS[document.kind](figures)
    person = figures.get("person", {})
    return Verified(
        title=TITLES[document.kind],
        document_no=document.document_no,
        issued_at=document.issued_at,
        name=str(person.get("name", "")),
        resident_id=str(person.get("resident_id", "")),
        code=format_code(document.verification_code),
        digest=document.content_digest,
        facts=facts,
        tables=[t for t in tables if t.rows],
    )


def _verify_page(request: Request, session: Session, code: str | None) -> Response:
    """Check a code: the document as issued, or a clear "not found"."""
    if not code or not code.strip():
        return render_page(
            request, "insurance/verify.html", verified=None, error=None, not_found=False, code=""
        )
    try:
        verified = verified_view(find_document(session, code))
    except InvalidField as error:
        return render_page(
            request, "insurance/verify.html", verified=None, code=code.strip()[:40],
            error=f"验证码：{error.message}", not_found=False, status_code=422,
        )  # fmt: skip
    except DocumentNotFound as error:
        return render_page(
            request, "insurance/verify.html", verified=None, code=code.strip()[:40],
            error=error.message, not_found=True, status_code=404,
        )  # fmt: skip
    return render_page(
        request, "insurance/verify.html", verified=verified, error=None, not_found=False,
        code=verified.code,
    )  # fmt: skip


@router.get(VERIFY_PATH)
def verify_form(request: Request, session: DbSession, code: str | None = None) -> Response:
    """查验: anyone holding a printed certificate or statement types its code."""
    return _verify_page(request, session, code)


@router.get(VERIFY_PATH + "/{code}")
def verify_code(code: str, request: Request, session: DbSession) -> Response:
    """The link to one code (as a QR code or a message would carry it)."""
    return _verify_page(request, session, code)
