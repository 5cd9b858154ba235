"""Payee lists, validation and maker-checker approval (issue 5: disbursement), on both databases."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select, update

from socialcard.bootstrap import Platform
from socialcard.cards.models import Card, CardStatus
from socialcard.db import transaction
from socialcard.disbursement import queries
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.errors import (
    MakerCannotCheck,
    NotApprovingDepartment,
    NotProgrammeDepartment,
    PayeeListUnreadable,
)
from socialcard.disbursement.models import (
    BatchStatus,
    DisbursementBatch,
    LineStatus,
    PaymentLine,
    shown_line_status,
)
from socialcard.disbursement.payee_lists import read_payee_list
from socialcard.disbursement.programmes import PAYOUT_ITEMS, list_programmes
from socialcard.disbursement.services import Officer
from socialcard.errors import DomainError
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.errors import BalanceFloorBreached
from socialcard.ledger.models import LedgerTransfer
from socialcard.registry.models import Person, PersonStatus
from tests.integration.disbursement.conftest import FARMING
from tests.money_support import Holder, cardholders, upload_payee_list
from tests.support import make_staff, resident_id_for

CHECKER = Officer(staff_id=None, department_code="finance")


def _upload(
    platform: Platform,
    rows: list[tuple[str, str, int, str]],
    *,
    period: str = "2026",
    officer: Officer = FARMING,
    programme: str = "I107",
) -> str:
    return upload_payee_list(platform, rows, officer=officer, period=period, programme=programme)[0]


def _row(holder: Holder, amount: int = 12_345) -> tuple[str, str, int, str]:
    return (holder.resident_id, holder.name, amount, "")


def test_every_payout_item_has_a_programme_with_its_departments(money: Platform) -> None:
    with money.session() as session:
        programmes = {p.item_no: p for p in list_programmes(session)}
    assert sorted(programmes) == sorted(PAYOUT_ITEMS)
    assert programmes[107].departments == ["finance", "agriculture"]
    assert programmes[106].departments == ["finance", "agriculture"]
    assert programmes[79].departments == ["hrss"]
    assert all(p.approving_department == "finance" for p in programmes.values())


def test_every_refused_line_gets_its_reason(money: Platform) -> None:
    good = cardholders(money, 6)
    inactive = cardholders(money, 1, activated=False, start=100)[0]
    with money.session() as session, transaction(session):
        session.execute(
            update(Card)
            .where(Card.card_number == good[1].card_number)
            .values(status=CardStatus.REPORTED_FORMAL.value)
        )
        session.execute(
            update(Person)
            .where(Person.id == good[2].person_id)
            .values(status=PersonStatus.DECEASED.value)
        )
    stranger = resident_id_for("431124", "19700101", 999)
    rows = [
        _row(good[0]),  # 1 accepted
        _row(good[1]),  # 2 card reported lost
        _row(good[2]),  # 3 deceased
        (good[3].resident_id, "王某某", 100, ""),  # 4 name mismatch
        (stranger, "路人", 100, ""),  # 5 not in the registry
        ("43112419700101999", "错号", 100, ""),  # 6 bad ID number
        _row(good[4]),  # 7 duplicate …
        _row(good[4]),  # 8 … of 7
        _row(inactive),  # 9 bank account not activated
        (good[5].resident_id, good[5].name, 6_000_000, ""),  # 10 above the line limit
    ]
    batch_no = _upload(money, rows)
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert (batch.line_count, batch.accepted_count, batch.rejected_count) == (10, 1, 9)
        assert batch.accepted_minor == 12_345
        lines = {line.seq: line for line in queries.list_lines(session, batch)}
        assert lines[1].status is LineStatus.QUEUED
        assert lines[1].bank_code == good[0].bank_code
        assert {seq: lines[seq].reject_code for seq in range(2, 11)} == {
            2: "no_usable_card",
            3: "person_not_living",
            4: "name_mismatch",
            5: "person_not_found",
            6: "resident_id_invalid",
            7: "duplicate_in_list",
            8: "duplicate_in_list",
            9: "bank_account_not_activated",
            10: "amount_above_limit",
        }
        report = list(
            csv.reader(io.StringIO(queries.rejections_csv(session, batch).decode("utf-8-sig")))
        )
        assert len(report) == 10
        assert report[0][0] == "序号"
        assert "户籍库中无此人" in report[4][5]
        # No plaintext ID number in the report.
        assert all(good[0].resident_id not in cell for row in report for cell in row)


def test_a_list_validated_in_slices_refuses_repeated_id_numbers_across_them(
    money: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 0019: a list is validated a slice at a time (three rows here); an ID number on
    rows of different slices refuses every such row as duplicate_in_list, unless a check that
    comes first (the list's own, the registry's) refused it already."""
    monkeypatch.setattr(disbursement, "VALIDATION_SLICE", 3)
    good = cardholders(money, 5)
    inactive = cardholders(money, 1, activated=False, start=100)[0]
    rows = [
        _row(good[0]),  # 1 accepted
        _row(good[1]),  # 2 duplicate of 7, in another slice
        _row(inactive),  # 3 not activated, but repeated on 8: duplicate
        (good[2].resident_id, "王某某", 100, ""),  # 4 name mismatch stays, though repeated
        _row(good[2]),  # 5 duplicate of 4
        (good[3].resident_id, good[3].name, 6_000_000, ""),  # 6 above the limit stays
        _row(good[1]),  # 7 duplicate of 2
        _row(inactive),  # 8 duplicate of 3
        _row(good[3]),  # 9 duplicate of 6
        _row(good[4]),  # 10 accepted, alone in the last slice
    ]
    batch_no = _upload(money, rows)
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert (batch.line_count, batch.accepted_count, batch.rejected_count) == (10, 2, 8)
        assert batch.accepted_minor == 2 * 12_345
        lines = {line.seq: line for line in queries.list_lines(session, batch)}
        assert {seq: line.reject_code for seq, line in lines.items()} == {
            1: None,
            2: "duplicate_in_list",
            3: "duplicate_in_list",
            4: "name_mismatch",
            5: "duplicate_in_list",
            6: "amount_above_limit",
            7: "duplicate_in_list",
            8: "duplicate_in_list",
            9: "duplicate_in_list",
            10: None,
        }
        for seq, line in lines.items():
            if seq in (1, 10):
                assert line.status is LineStatus.QUEUED
                assert (line.card_id, line.bank_code) != (None, None)
            else:
                assert line.status is LineStatus.INVALID
                assert (line.card_id, line.bank_code) == (None, None)
        assert [lines[seq].end_to_end_id for seq in (1, 10)] == [
            f"{batch_no}0000001",
            f"{batch_no}0000010",
        ]


def test_a_slice_that_fails_leaves_no_batch_and_no_line(
    money: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disbursement, "VALIDATION_SLICE", 2)
    holders = cardholders(money, 6)
    validate = disbursement._validate_slice
    slices: list[int] = []

    def fail_on_the_second(*args: object) -> None:
        slices.append(len(slices) + 1)
        if len(slices) == 2:
            raise RuntimeError("the database went away")
        validate(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(disbursement, "_validate_slice", fail_on_the_second)
    with pytest.raises(RuntimeError, match="went away"):
        _upload(money, [_row(h) for h in holders])
    assert slices == [1, 2]  # the slices after the failed one were not validated
    with money.session() as session:
        assert session.scalar(select(func.count()).select_from(DisbursementBatch)) == 0
        assert session.scalar(select(func.count()).select_from(PaymentLine)) == 0


def test_maker_checker_and_approval_reserves_the_money(money: Platform) -> None:
    holders = cardholders(money, 5)
    maker = make_staff(money, "maker", roles=("department_staff",), department="finance")
    checker = make_staff(money, "checker", roles=("department_staff",), department="finance")
    farmer = make_staff(money, "farmer", roles=("department_staff",), department="agriculture")
    batch_no = _upload(
        money, [_row(h, 10_000) for h in holders], officer=Officer(maker.staff_id, "finance")
    )
    with money.session() as session, transaction(session):
        with pytest.raises(NotProgrammeDepartment):
            disbursement.submit_batch(
                session, batch_no=batch_no, officer=FARMING, at=money.clock.now()
            )
        disbursement.submit_batch(
            session,
            batch_no=batch_no,
            officer=Officer(maker.staff_id, "finance"),
            at=money.clock.now(),
        )
    with money.session() as session:
        with pytest.raises(MakerCannotCheck):
            disbursement.approve_batch(
                session,
                batch_no=batch_no,
                officer=Officer(maker.staff_id, "finance"),
                at=money.clock.now(),
            )
        with pytest.raises(NotApprovingDepartment):
            disbursement.approve_batch(
                session,
                batch_no=batch_no,
                officer=Officer(farmer.staff_id, "agriculture"),
                at=money.clock.now(),
            )
        session.rollback()
    with money.session() as session, transaction(session):
        batch = disbursement.approve_batch(
            session,
            batch_no=batch_no,
            officer=Officer(checker.staff_id, "finance"),
            at=money.clock.now(),
        )
        assert batch.status is BatchStatus.APPROVED
    with money.session() as session:
        budget = ledger_queries.get_balance(session, "programme:I107:budget")
        assert (budget.posted, budget.available) == (100_000_000, 100_000_000 - 50_000)
        approved = queries.get_batch(session, batch_no)
        lines = queries.list_lines(session, approved)
        # Approval writes no line (decision 0011): the lines stay queued, their money reserved
        # by one reservation per bank file, and they are shown (and filtered) as reserved.
        assert {line.status for line in lines} == {LineStatus.QUEUED}
        assert {shown_line_status(line.status, approved.status) for line in lines} == {
            LineStatus.RESERVED
        }
        assert queries.list_lines(session, approved, statuses=[LineStatus.RESERVED]) == lines
        assert queries.list_lines(session, approved, statuses=[LineStatus.QUEUED]) == []
        reservations = {
            t.transfer_key: t.amount_minor
            for t in session.scalars(
                select(LedgerTransfer).where(LedgerTransfer.journal_key.startswith("batch:"))
            )
        }
        by_bank: dict[str, int] = {}
        for line in lines:
            key = f"pay:{batch_no}-{line.bank_code}:reserve"
            by_bank[key] = by_bank.get(key, 0) + line.amount_minor
        assert reservations == by_bank
        assert ledger_queries.verify_ledger(session).ok


def test_an_approval_beyond_the_budget_reserves_nothing(money: Platform) -> None:
    holders = cardholders(money, 3)
    batch_no = _upload(
        money, [_row(h, 4_000_000) for h in holders], programme="I106", officer=FARMING
    )
    with money.session() as session, transaction(session):
        disbursement.submit_batch(session, batch_no=batch_no, officer=FARMING, at=money.clock.now())
    with money.session() as session:
        with pytest.raises(BalanceFloorBreached):
            disbursement.approve_batch(
                session, batch_no=batch_no, officer=CHECKER, at=money.clock.now()
            )
        session.rollback()
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert batch.status is BatchStatus.SUBMITTED
        assert ledger_queries.get_balance(session, "programme:I106:budget").available == 0
        assert {line.status for line in queries.list_lines(session, batch)} == {LineStatus.QUEUED}


def test_one_payment_per_programme_and_period(money: Platform) -> None:
    holders = cardholders(money, 3)
    first = _upload(money, [_row(h) for h in holders[:2]])
    again = _upload(money, [_row(h) for h in holders])
    other_period = _upload(money, [_row(h) for h in holders], period="2027")
    with money.session() as session:
        codes = [
            line.reject_code
            for line in queries.list_lines(session, queries.get_batch(session, again))
        ]
        assert codes == ["already_in_programme_period", "already_in_programme_period", None]
        assert queries.get_batch(session, other_period).accepted_count == 3
    # A cancelled batch no longer counts.
    with money.session() as session, transaction(session):
        disbursement.cancel_batch(session, batch_no=first, officer=FARMING)
    third = _upload(money, [_row(h) for h in holders[:2]], period="2026")
    with money.session() as session:
        assert queries.get_batch(session, third).accepted_count == 2
        lines = queries.list_lines(session, queries.get_batch(session, first))
        assert {line.status for line in lines} == {LineStatus.WITHDRAWN}


def test_a_file_that_is_not_a_payee_list_is_refused_whole() -> None:
    with pytest.raises(PayeeListUnreadable, match="缺少列"):
        read_payee_list(
            "姓名,金额\n张三,1\n".encode(), filename="x.csv", period="2026", max_line_minor=1
        )
    with pytest.raises(PayeeListUnreadable, match="xlsx"):
        read_payee_list(b"...", filename="x.pdf", period="2026", max_line_minor=1)
    with pytest.raises(PayeeListUnreadable):
        read_payee_list(b"PK\x03\x04broken", filename="x.xlsx", period="2026", max_line_minor=1)
    gbk = "社会保障号码,姓名,金额,摘要\n431124197001019993,张三,12.5,\n".encode("gbk")
    rows = read_payee_list(gbk, filename="x.csv", period="2026", max_line_minor=10_000)
    assert rows[0].name == "张三"
    assert rows[0].amount_minor == 1250


def test_xlsx_lists_are_read_like_csv(tmp_path: object) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["社会保障号码", "姓名", "金额", "摘要", "期间"])
    sheet.append(["431124197001019993", "张三", 100.5, "种粮补贴", "2026"])
    sheet.append([None, None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_payee_list(
        buffer.getvalue(), filename="名单.xlsx", period="2026", max_line_minor=10**6
    )
    assert len(rows) == 1
    assert (rows[0].amount_minor, rows[0].memo, rows[0].reject_code) == (10_050, "种粮补贴", None)


def test_a_period_is_a_year_or_a_month(money: Platform) -> None:
    holder = cardholders(money, 1)[0]
    with pytest.raises(DomainError) as error:
        _upload(money, [_row(holder)], period="2026-13")
    assert (error.value.code, error.value.details["field"]) == ("invalid_field", "period")


def test_domain_errors_name_their_rule(money: Platform) -> None:
    with pytest.raises(DomainError) as error:
        _upload(
            money, [("431124197001019993", "张三", 100, "")], officer=Officer(None, "education")
        )
    assert error.value.code == "not_programme_department"


def test_simultaneous_uploads_get_distinct_numbers(money: Platform) -> None:
    """Four departments upload at the same moment: four batches, four numbers (the unique index
    decides, the loser takes the next number)."""
    import threading

    holders = cardholders(money, 4)
    officers = [FARMING, Officer(None, "finance"), FARMING, Officer(None, "finance")]
    barrier = threading.Barrier(4)
    numbers: list[str] = []
    lock = threading.Lock()

    def upload(n: int) -> None:
        barrier.wait()
        number = _upload(money, [_row(holders[n])], period=f"20{30 + n}", officer=officers[n])
        with lock:
            numbers.append(number)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(numbers)) == 4


def test_an_unparseable_id_is_masked_in_every_report() -> None:
    from socialcard.disbursement.payee_lists import _mask_raw

    assert _mask_raw("431124197001019993") == "431124********9993"
    assert _mask_raw("431124700101999") == "431**********99"  # an old 15-digit number
    assert _mask_raw("4311247001") == "**********"
    assert _mask_raw("") == ""
