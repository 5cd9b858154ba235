"""The pension individual account's year-end settlement (年度结算): the year's credits, transfers
and interest at the year's crediting rate, written as one row per person, scheme and year (what
the rights statement prints) and the interest as transfers from the pooled fund, set-based.

The ledger is the truth: a year's credits are the contributions and subsidies posted to the
account in that calendar year (by when the money arrived, as 记账 works), its transfers the
relation transfers in and out. A year is settled once; a settled person is skipped on a rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, String, and_, cast, func, literal, null, select
from sqlalchemy.orm import Session

from socialcard.db import bulk_insert
from socialcard.errors import InvalidField
from socialcard.insurance.accounts import pooled_fund
from socialcard.insurance.errors import RuleNotInForce
from socialcard.insurance.models import Enrolment, PensionAccountYear
from socialcard.insurance.parameters import interest_rate
from socialcard.insurance.rules import year_interest
from socialcard.insurance.schemes import SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import TransferKind, TransferPhase

PENSION_SCHEMES: Final = (SchemeCode.PENSION_EMPLOYEE, SchemeCode.PENSION_RESIDENT)
CREDIT_KINDS: Final = frozenset(
    {
        TransferKind.CONTRIBUTION_RECEIVED.value,
        TransferKind.ACCOUNT_CREDITED.value,
        TransferKind.SUBSIDY_RECEIVED.value,
    }
)
CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class YearSettled:
    year: int
    rate_bp: int
    persons: int
    interest_minor: int


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year in Shanghai, as the instants the ledger stores."""
    return (
        datetime(year, 1, 1, tzinfo=SHANGHAI),
        datetime(year + 1, 1, 1, tzinfo=SHANGHAI),
    )


def pension_accounts(session: Session) -> list[tuple[int, SchemeCode, int]]:
    """(person, scheme, ledger account) of every pension individual account."""
    stmt = (
        select(Enrolment.person_id, Enrolment.scheme, Enrolment.account_id)
        .where(Enrolment.scheme.in_(PENSION_SCHEMES), Enrolment.account_id.is_not(None))
        .distinct()
        .order_by(Enrolment.person_id)
    )
    return [(int(p), s, int(a or 0)) for p, s, a in session.execute(stmt).tuples()]


def settle_pension_year(session: Session, *, year: int, at: datetime) -> YearSettled:
    """Settle `year` for every pension account not settled yet."""
    if year >= at.astimezone(SHANGHAI).year:
        raise InvalidField("year", "past_year", "只能结算已结束的年度。")
    rate = interest_rate(session, year)
    if rate is None:
        raise RuleNotInForce("养老保险个人账户记账利率", f"{year}年")
    settled = {
        (p, s)
        for p, s in session.execute(
            select(PensionAccountYear.person_id, PensionAccountYear.scheme).where(
                PensionAccountYear.year == year
            )
        ).tuples()
    }
    todo = [(p, s, a) for p, s, a in pension_accounts(session) if (p, s) not in settled]
    start, end = year_bounds(year)
    persons = interest_total = 0
    schemes_settled: set[SchemeCode] = set()
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i : i + CHUNK]
        moves = ledger_queries.posted_by_kind(
            session, [a for _p, _s, a in chunk], start=start, end=end
        )
        openings = {
            (p, s): c
            for p, s, c in session.execute(
                select(
                    PensionAccountYear.person_id,
                    PensionAccountYear.scheme,
                    PensionAccountYear.closing_minor,
                ).where(
                    PensionAccountYear.year == year - 1,
                    PensionAccountYear.person_id.in_([p for p, _s, _a in chunk]),
                )
            ).tuples()
        }
        rows = []
        for person_id, scheme, account_id in chunk:
            by_kind = moves[account_id]
            credited = sum(v for k, v in by_kind.items() if k in CREDIT_KINDS)
            transferred = by_kind.get(TransferKind.RELATION_TRANSFERRED.value, 0)
            opening = openings.get((person_id, scheme), 0)
            if opening == 0 and credited == 0 and transferred == 0:
                continue
            interest = year_interest(max(opening, 0), max(credited, 0), rate.rate_bp)
            rows.append(
                {
                    "person_id": person_id,
                    "scheme": scheme,
                    "year": year,
                    "opening_minor": opening,
                    "credited_minor": credited,
                    "interest_minor": interest,
                    "transferred_minor": transferred,
                    "closing_minor": opening + credited + interest + transferred,
                    "rate_bp": rate.rate_bp,
                    "settled_at": at,
                }
            )
            interest_total += interest
            schemes_settled.add(scheme)
        if rows:
            bulk_insert(session, PensionAccountYear.__table__, rows)
            persons += len(rows)
    for scheme in PENSION_SCHEMES:
        if scheme in schemes_settled:
            _post_interest(session, scheme, year, at)
    return YearSettled(year, rate.rate_bp, persons, interest_total)


def _post_interest(session: Session, scheme: SchemeCode, year: int, at: datetime) -> int:
    """The interest of this run's settlement rows (`settled_at` = at) as transfers from the pooled
    fund, in one statement. The key per person and year makes a second credit impossible."""
    y = PensionAccountYear
    mine = and_(y.year == year, y.scheme == scheme, y.interest_minor > 0, y.settled_at == at)
    if not session.scalar(select(func.count()).where(mine)):
        return 0
    accounts = (
        select(Enrolment.person_id, Enrolment.account_id)
        .where(Enrolment.scheme == scheme, Enrolment.account_id.is_not(None))
        .distinct()
        .subquery()
    )
    pooled = ledger_queries.get_account(session, pooled_fund(scheme)).id
    key = f"interest:{scheme.value}:{year}"
    journal = f"{key}:{at.timestamp():.6f}"
    rows = (
        select(
            literal(key + ":") + cast(y.person_id, String),
            literal(journal),
            literal(pooled),
            accounts.c.account_id,
            y.interest_minor,
            literal(TransferKind.INTEREST_CREDITED.value),
            literal(TransferPhase.SINGLE.value),
            cast(null(), BigInteger),
            literal(f"pension_year:{year}:") + cast(y.person_id, String),
            literal(at),
        )
        .select_from(y)
        .join(accounts, accounts.c.person_id == y.person_id)
        .where(mine)
    )
    return ledger.record_journal_from(session, rows, journal_key=journal, at=at)
