"""Insurance under concurrency, on SQLite and PostgreSQL (RELIABILITY A1 in miniature): a
declaration settled by six callers at once is credited once; six employers enrolling the same
person at once leave one open enrolment per scheme family."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import DomainError
from socialcard.insurance import declarations as decl
from socialcard.insurance import queries
from socialcard.insurance.accounts import personal_account
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.models import EnrolmentKind
from socialcard.insurance.schemes import SchemeCode
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.models import LedgerTransfer
from tests.insurance_support import employer, enrol_employee, person

NAMES = (
    "永州潇湘电子科技有限公司",
    "永州凤凰园商贸有限公司",
    "祁阳浯溪纺织有限公司",
    "东安县紫溪建材有限公司",
    "道县濂溪电子有限公司",
    "蓝山县塔峰皮具制造有限公司",
)


def _race(count: int, work: Callable[[int], None]) -> Counter[str]:
    barrier = threading.Barrier(count)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
            result = "ok"
        except DomainError as error:
            result = error.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_declaration_settled_by_six_callers_at_once_is_credited_once(
    platform: Platform,
) -> None:
    firm = employer(platform)
    people = [person(platform, n) for n in range(3)]
    for pid in people:
        enrol_employee(platform, pid, firm, wage=500_000)
    with platform.session() as session, transaction(session):
        declaration = decl.declare_employer_month(
            session, employer_id=firm, period=202611, channel="api", declared_by=None,
            at=platform.clock.now(),
        )  # fmt: skip
        number, total = declaration.declaration_no, declaration.total_minor

    def settle(n: int) -> None:
        with platform.session() as session, transaction(session):
            decl.record_employer_payment(
                session, number, paid_minor=total, bank_reference=f"B{n}", at=platform.clock.now()
            )

    assert _race(6, settle) == Counter({"ok": 6})
    with platform.session() as session:
        journal = session.scalar(
            select(func.count()).where(LedgerTransfer.journal_key.startswith(f"sb:{number}"))
        )
        assert journal == 4 + 2 * 3  # four funds with money (maternity is 0 in 2026) + 2 per person
        for pid in people:
            account = personal_account(pid, SchemeCode.PENSION_EMPLOYEE)
            assert account is not None
            assert ledger_queries.get_balance(session, account).posted == 40_000
        assert queries.get_declaration(session, number).bank_reference is not None
        assert ledger_queries.verify_ledger(session).ok


def test_six_employers_enrolling_one_person_at_once_leave_one_relation(
    platform: Platform,
) -> None:
    firms = [employer(platform, name) for name in NAMES]
    pid = person(platform, 9)

    def hire(n: int) -> None:
        with platform.session() as session, transaction(session):
            enrol(
                session,
                EnrolRequest(pid, EnrolmentKind.EMPLOYEE, platform.clock.now().date(), "api",
                             employer_id=firms[n], wage_minor=500_000),
                at=platform.clock.now(),
            )  # fmt: skip

    outcomes = _race(6, hire)
    assert outcomes == Counter({"ok": 1, "already_enrolled": 5})
    with platform.session() as session:
        open_ = queries.open_enrolments(session, pid)
        assert len(open_) == 5
        assert len({e.family for e in open_}) == 5
        assert len({e.employer_id for e in open_}) == 1
