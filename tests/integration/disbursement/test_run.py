"""A disbursement from upload to reconciled with the sandbox bank (issue 5, RELIABILITY A8):
realistic bank refusals, the correction queue, activation, a re-issue in a new batch, and the
books proven after every step."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from socialcard.access.models import HolderMessage
from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.cards.bank_sync import sync_bank_activations
from socialcard.catalog.models import CardUse, ItemYearUser
from socialcard.catalog.tallies import compare_user_tallies
from socialcard.db import transaction
from socialcard.disbursement import queries
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.models import BatchStatus, Correction, LineStatus, PaymentLine
from socialcard.disbursement.reconciliation import reconcile, verify_file_reservations
from socialcard.disbursement.runner import agency_account, run_batch
from socialcard.disbursement.services import Officer
from socialcard.ledger import queries as ledger_queries
from socialcard.registry.models import Person
from tests.integration.disbursement.conftest import BANKS
from tests.money_support import Holder, cardholders, upload_payee_list
from tests.support import make_staff


def _open(bank: SandboxBank, holders: list[Holder], *, activated: bool = True) -> None:
    bank.open_accounts((h.bank_code, h.account, h.name, h.resident_id, activated) for h in holders)


def _officers(platform: Platform) -> tuple[Officer, Officer, Officer]:
    maker = make_staff(
        platform, "nongye", roles=("disbursement_officer",), department="agriculture"
    )
    first = make_staff(platform, "caizheng1", roles=("finance_approver",), department="finance")
    second = make_staff(platform, "caizheng2", roles=("finance_approver",), department="finance")
    return (
        Officer(maker.staff_id, "agriculture"),
        Officer(first.staff_id, "finance"),
        Officer(second.staff_id, "finance"),
    )


def _approved_batch(
    platform: Platform, holders: list[Holder], maker: Officer, checker: Officer, amount: int
) -> str:
    batch_no, _ = upload_payee_list(
        platform,
        [(h.resident_id, h.name, amount, "") for h in holders],
        officer=maker,
        title="种粮补贴",
        max_line_minor=10**7,
    )
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        disbursement.submit_batch(session, batch_no=batch_no, officer=maker, at=at)
    with platform.session() as session, transaction(session):
        disbursement.approve_batch(session, batch_no=batch_no, officer=checker, at=at)
    return batch_no


def _verified(platform: Platform) -> None:
    with platform.session() as session:
        report = ledger_queries.verify_ledger(session)
        files = verify_file_reservations(session)
    assert report.ok, report.problems
    assert files == [], files


def test_a_batch_goes_from_upload_to_reconciled_and_failures_are_paid_again(
    money: Platform, bank: SandboxBank
) -> None:
    maker, checker, second_checker = _officers(money)
    holders = cardholders(money, 20, banks=BANKS)
    fine, closed, lost, renamed, inactive, missing = (
        holders[:15],
        holders[15],
        holders[16],
        holders[17],
        holders[18],
        holders[19],
    )
    _open(bank, [*fine, closed, lost])
    bank.open_account(
        renamed.bank_code, renamed.account, "别人", renamed.resident_id, activated=True
    )
    _open(bank, [inactive], activated=False)  # the platform believes it was activated
    bank.set_state(closed.bank_code, closed.account, "closed")
    bank.set_state(lost.bank_code, lost.account, "lost")
    del missing  # the bank never opened this account

    batch_no = _approved_batch(money, holders, maker, checker, 15_000)
    progress = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED_WITH_FAILURES
    assert progress.reconciliation is not None
    assert progress.reconciliation["balanced"]
    _verified(money)
    # The lines are the sub-ledger of their bank file's reservation: a line changed behind the
    # ledger's back is caught (decision 0011).
    with money.session() as session:
        changed = queries.list_lines(session, queries.get_batch(session, batch_no), limit=1)[0]
        session.execute(
            update(PaymentLine)
            .where(PaymentLine.id == changed.id)
            .values(amount_minor=PaymentLine.amount_minor + 1)
        )
        assert [p.split(":")[0] for p in verify_file_reservations(session)] == [
            f"{batch_no}-{changed.bank_code}"
        ]
        session.rollback()

    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert (batch.paid_count, batch.paid_minor) == (15, 225_000)
        assert (batch.failed_count, batch.failed_minor) == (5, 75_000)
        reasons = {
            line.name: line.bank_reason_code
            for line in queries.list_lines(session, batch, statuses=[LineStatus.FAILED])
        }
        assert sorted(str(r) for r in reasons.values()) == sorted(
            ["account_closed", "account_lost", "name_mismatch", "not_activated", "no_such_account"]
        )
        budget = ledger_queries.get_balance(session, "programme:I107:budget")
        assert (budget.posted, budget.available) == (100_000_000 - 225_000, 100_000_000 - 225_000)
        # Every payment is a card use of item 107, and every holder was told.
        uses = session.scalar(
            select(func.count()).select_from(CardUse).where(CardUse.item_no == 107)
        )
        assert uses == 15
        # Each use is counted in its holder's county, as the line kept it at validation.
        counties = session.execute(
            select(CardUse.county_code, Person.residence_county_code, PaymentLine.county_code)
            .join(Person, Person.id == CardUse.person_id)
            .join(PaymentLine, PaymentLine.person_id == CardUse.person_id)
            .where(CardUse.item_no == 107)
        ).all()
        assert len(counties) == 15
        assert all(line is not None and use == holder == line for use, holder, line in counties)
        assert session.scalar(select(func.count()).select_from(ItemYearUser)) == 15
        # The set-based tallies agree with a count from the card uses themselves.
        assert compare_user_tallies(session, years=[2026]) == []
        assert session.scalar(select(func.count()).select_from(HolderMessage)) == 20
        received = queries.list_payments_received(session, fine[0].person_id)
        assert [(p.programme, p.amount_minor, p.status) for p in received] == [
            ("种粮补贴", 15_000, LineStatus.PAID)
        ]
    for holder in fine:
        assert bank.balance(holder.bank_code, holder.account) == 15_000
    assert bank.execution_count() == 20

    # Running again pays nobody twice.
    run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert bank.execution_count() == 20

    # The correction queue: the holder activates at the branch; the bank's notice arrives.
    bank.activate(inactive.bank_code, inactive.account)
    sync = sync_bank_activations(money.sessions, money.keys, bank, at=money.clock.now())
    assert sync.notices == 1
    with money.session() as session:
        items = {i.line.name: i for i in queries.list_corrections(session, programme_code="I107")}
    assert items[inactive.name].ready
    assert not items[closed.name].ready
    assert items[closed.name].blocker == "account_closed"
    assert not items[lost.name].ready

    with money.session() as session, transaction(session):
        again = disbursement.reissue_failed_lines(
            session,
            money.keys,
            programme_code="I107",
            period="2026",
            line_ids=None,
            officer=maker,
            at=money.clock.now(),
            decrypt=money.keys.decrypt,
        )
        again_no = again.batch_no
        assert again.accepted_count == 1
        disbursement.submit_batch(session, batch_no=again_no, officer=maker, at=money.clock.now())
    with money.session() as session, transaction(session):
        disbursement.approve_batch(
            session, batch_no=again_no, officer=second_checker, at=money.clock.now()
        )
    progress = run_batch(money.sessions, money.keys, bank, again_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED
    assert bank.balance(inactive.bank_code, inactive.account) == 15_000
    with money.session() as session:
        items = {i.line.name: i for i in queries.list_corrections(session, programme_code="I107")}
        assert inactive.name not in items
        original = next(
            line
            for line in queries.list_lines(session, queries.get_batch(session, batch_no))
            if line.name == inactive.name
        )
        assert original.correction is Correction.REISSUED
        assert original.reissued_line_id is not None
        assert reconcile(session, queries.get_batch(session, again_no))["balanced"]
    with money.session() as session, transaction(session):
        disbursement.close_correction(
            session, line_id=items[closed.name].line.id, note="持卡人已去世", officer=maker
        )
    _verified(money)


def test_the_banks_statements_agree_with_the_payments(money: Platform, tmp_path: Path) -> None:
    """The T+1 statement of the agency account books one debit per file, equal to what the
    platform recorded as paid; a statement that disagrees is named, not paid again."""
    from datetime import timedelta

    from socialcard.disbursement.statements import check_statement
    from socialcard.kernel.clock import SHANGHAI

    now = [money.clock.now()]
    bank = SandboxBank(tmp_path / "stmt.sqlite3", clock=lambda: now[0])
    for code in BANKS:
        bank.open_agency_account(code, agency_account(code), "永州市财政局")
    maker, checker, _ = _officers(money)
    holders = cardholders(money, 8, banks=BANKS)
    _open(bank, holders[:7])  # the eighth account is unknown to the bank: one failure
    batch_no = _approved_batch(money, holders, maker, checker, 12_300)
    run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    day = now[0].astimezone(SHANGHAI).date()
    with money.session() as session, transaction(session):
        early = check_statement(session, bank, bank_code="ICBC", on=day, at=now[0])
    assert not early.ready  # T+1: not before the day is over
    now[0] += timedelta(days=1)
    totals = 0
    for code in BANKS:
        with money.session() as session, transaction(session):
            check = check_statement(session, bank, bank_code=code, on=day, at=now[0])
        assert check.ready
        assert check.problems == []
        totals += check.debits_minor
    assert totals == 7 * 12_300
    # Had the platform recorded a paid line as failed, the statement names the file.
    with money.session() as session, transaction(session):
        session.execute(
            text(
                "UPDATE disbursement_lines SET status = 'failed' WHERE id = (SELECT min(id) "
                "FROM disbursement_lines WHERE status = 'paid' AND bank_code = 'ICBC')"
            )
        )
    with money.session() as session, transaction(session):
        check = check_statement(session, bank, bank_code="ICBC", on=day, at=now[0])
    assert len(check.problems) == 1
    assert f"{batch_no}-ICBC" in check.problems[0]


def test_a_batch_over_file_exchange_waits_for_the_banks_and_completes(
    money: Platform, tmp_path: Path
) -> None:
    """The production adapter: send files land in the exchange folders, the run waits for the
    banks; the banks (the sandbox playing them) answer with ACK and return files, and the next
    run completes the batch; activation notices arrive as files too."""
    from socialcard.banks.file_exchange import (
        FileExchangeGateway,
        run_sandbox_bank_over_files,
        write_activations,
    )

    root = tmp_path / "exchange"
    gateway = FileExchangeGateway(root)
    bank = SandboxBank(tmp_path / "banks.sqlite3")
    for code in BANKS:
        bank.open_agency_account(code, agency_account(code), "永州市财政局")
    maker, checker, _ = _officers(money)
    holders = cardholders(money, 6, banks=BANKS)
    _open(bank, holders[:5])
    _open(bank, holders[5:], activated=False)
    batch_no = _approved_batch(money, holders, maker, checker, 8_800)

    first = run_batch(money.sessions, money.keys, gateway, batch_no, at=money.clock.now())
    assert first.status is BatchStatus.SENT
    assert sorted(first.waiting_for) == sorted(BANKS)
    assert sorted(p.parent.parent.name for p in root.glob("*/outbox/*")) == sorted(BANKS)
    # Running again before the banks answered sends nothing twice.
    again = run_batch(money.sessions, money.keys, gateway, batch_no, at=money.clock.now())
    assert again.files_sent == 0
    assert run_sandbox_bank_over_files(bank, root) == len(BANKS)
    done = run_batch(money.sessions, money.keys, gateway, batch_no, at=money.clock.now())
    assert done.status is BatchStatus.COMPLETED_WITH_FAILURES
    assert done.reconciliation is not None
    assert done.reconciliation["balanced"]
    assert bank.execution_count() == 6

    # The holder activates at the branch; the bank's notice file reaches the platform.
    bank.activate(holders[5].bank_code, holders[5].account)
    write_activations(bank, root, after_notice_id=0)
    assert (
        sync_bank_activations(money.sessions, money.keys, gateway, at=money.clock.now()).notices
        == 1
    )
    with money.session() as session:
        items = queries.list_corrections(session, programme_code="I107")
    assert [(i.line.name, i.ready) for i in items] == [(holders[5].name, True)]
    _verified(money)


def test_bank_faults_never_pay_twice(money: Platform, tmp_path: Path) -> None:
    """RELIABILITY A6 through the whole runner: the bank times out, refuses, drops answers after
    executing and delivers return files twice; the runner keeps going until the batch completes,
    asks before resending, and every line is executed exactly once by a strict bank."""
    from socialcard.banks.faults import Fault, FaultPlan

    maker, checker, _ = _officers(money)
    holders = cardholders(money, 60, banks=BANKS)
    plan = FaultPlan(
        seed=11,
        timeout_rate=0.2,
        unavailable_rate=0.1,
        drop_response_rate=0.2,
        duplicate_delivery_rate=0.2,
    )
    bank = SandboxBank(tmp_path / "faulty.sqlite3", strict=True, faults=plan)
    _open(bank, holders)
    for code in BANKS:
        bank.open_agency_account(code, agency_account(code), "永州市财政局")
    batch_no = _approved_batch(money, holders, maker, checker, 5_000)
    runs = 0
    status = BatchStatus.APPROVED
    while status is not BatchStatus.COMPLETED and runs < 60:
        runs += 1  # a failed bank call is not raised: the run reports what it still waits for
        status = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now()).status
    assert status is BatchStatus.COMPLETED, f"not completed after {runs} runs"
    # The faults really happened: the bank executed and then lost its answer (what tempts a
    # resend), and every line was still executed once.
    assert bank.faults_dealt().get(Fault.DROP_RESPONSE, 0) > 0
    with money.session() as session:
        lines = queries.list_lines(session, queries.get_batch(session, batch_no))
    assert {bank.executions_of(line.end_to_end_id) for line in lines} == {1}
    _verified(money)


class _GarblingBank(SandboxBank):
    """The same sandbox bank, except that CCB's return files come back with a wrong amount."""

    def fetch_return(self, bank_code: str, batch_no: str) -> bytes | None:
        data = super().fetch_return(bank_code, batch_no)
        if data is None or bank_code != "CCB":
            return data
        head, sep, rest = data.partition(b"\r\nD|1|")
        fields = rest.split(b"|", 3)  # e2e, amount, rest of the line
        return head + sep + fields[0] + b"|" + fields[1] + b"|99999.99|" + fields[3]


def test_a_refused_return_leaves_its_bank_waiting_and_the_others_applied(
    money: Platform, bank: SandboxBank
) -> None:
    """Returns are applied together (decision 0011), but a return file that does not answer
    its send file is refused alone: the other banks' lines are paid, its lines wait, nothing of
    it is kept, and the next run with the right file completes the batch."""
    maker, checker, _ = _officers(money)
    holders = cardholders(money, 6, banks=BANKS)
    _open(bank, holders)
    batch_no = _approved_batch(money, holders, maker, checker, 10_000)
    garbling = _GarblingBank(bank.path, strict=True)
    with pytest.raises(BankFileInvalid):
        run_batch(money.sessions, money.keys, garbling, batch_no, at=money.clock.now())
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        statuses = {(line.bank_code, line.status) for line in queries.list_lines(session, batch)}
        assert statuses == {("ICBC", LineStatus.PAID), ("CCB", LineStatus.QUEUED)}
        assert batch.status is BatchStatus.SENT
    _verified(money)
    progress = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED
    assert progress.reconciliation is not None
    assert progress.reconciliation["balanced"]
    _verified(money)


def test_a_line_that_cannot_be_decrypted_stops_its_bank_file_and_the_run_ends_once_mended(
    money: Platform, bank: SandboxBank
) -> None:
    """A damaged bank account cipher stops its bank's file (and the banks after it) before it
    is stored; the files built before stay, each complete. The batch stays approved, and the
    next run, once the card is put right, stores the rest and leaves the first as it was."""
    from socialcard.banks import queries as bank_queries
    from socialcard.banks.models import BankFile
    from socialcard.cards.models import Card
    from socialcard.disbursement.runner import prepare_send_files
    from socialcard.kernel.crypto import DecryptionFailed

    maker, checker, _ = _officers(money)
    holders = cardholders(money, 30, banks=BANKS)
    batch_no = _approved_batch(money, holders, maker, checker, 10_000)
    # Files are built in bank order: CCB's comes before ICBC's, where the damage is.
    damaged = [h for h in holders if h.bank_code == "ICBC"][5]
    with money.session() as session, transaction(session):
        session.execute(
            update(Card)
            .where(Card.person_id == damaged.person_id)
            .values(bank_account_cipher=b"k1:" + bytes(40))
        )
    row = holders.index(damaged) + 1
    with pytest.raises(DecryptionFailed, match=f"{batch_no}{row:07d}（名单第 {row} 行）"):
        prepare_send_files(money.sessions, money.keys, batch_no, at=money.clock.now())
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert batch.status is BatchStatus.APPROVED
        assert bank_queries.find_send_file(session, "ICBC", f"{batch_no}-ICBC") is None
        first = bank_queries.find_send_file(session, "CCB", f"{batch_no}-CCB")
        assert first is not None
        assert first.line_count == sum(1 for h in holders if h.bank_code == "CCB")
        first_content = first.content
    with money.session() as session, transaction(session):
        session.execute(
            update(Card)
            .where(Card.person_id == damaged.person_id)
            .values(bank_account_cipher=money.keys.encrypt(damaged.account))
        )
    assert prepare_send_files(money.sessions, money.keys, batch_no, at=money.clock.now()) == 1
    with money.session() as session:
        assert queries.get_batch(session, batch_no).status is BatchStatus.SENT
        files = session.scalars(select(BankFile).where(BankFile.batch_no.like(f"{batch_no}-%")))
        assert {f.bank_code: f.line_count for f in files} == {"CCB": 15, "ICBC": 15}
        ccb = bank_queries.find_send_file(session, "CCB", f"{batch_no}-CCB")
        assert ccb is not None
        assert ccb.content == first_content
        assert session.scalar(select(func.count()).select_from(PaymentLine)) == 30


class _WatchingBank(SandboxBank):
    """The same sandbox bank, which looks, when ICBC's file comes (the last, in bank order),
    whether CCB's lines are paid already — on PostgreSQL waiting up to 30 s for it."""

    def __init__(self, path: Path, platform: Platform, batch_no: str, *, wait: bool) -> None:
        super().__init__(path, strict=True)
        self.platform, self.batch_no, self.wait = platform, batch_no, wait
        self.ccb_paid_before_icbc_came: bool | None = None

    def _ccb_paid(self) -> bool:
        with self.platform.session() as session:
            batch = queries.get_batch(session, self.batch_no)
            lines = queries.list_lines(session, batch)
            return all(line.status is LineStatus.PAID for line in lines if line.bank_code == "CCB")

    def submit_file(self, bank_code: str, name: str, data: bytes) -> None:
        if bank_code == "ICBC":
            deadline = time.monotonic() + (30 if self.wait else 0)
            while not (paid := self._ccb_paid()) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.ccb_paid_before_icbc_came = paid
        super().submit_file(bank_code, name, data)


def test_on_postgresql_a_banks_return_is_applied_while_the_next_file_goes_out(
    money: Platform, bank: SandboxBank
) -> None:
    """Decision 0017: on PostgreSQL one run builds each bank's file, sends it and applies its
    return while the next bank's file is built and sent (the bank here does not take ICBC's file
    until CCB's lines are paid: a run doing one step after the other would never pay them). On
    SQLite, which lets one writer in at a time, the steps follow each other. Either way the
    batch ends reconciled, each line paid once."""
    maker, checker, _ = _officers(money)
    holders = cardholders(money, 8, banks=BANKS)
    _open(bank, holders)
    batch_no = _approved_batch(money, holders, maker, checker, 10_000)
    pipelined = money.engine.dialect.name == "postgresql"
    watching = _WatchingBank(bank.path, money, batch_no, wait=pipelined)
    progress = run_batch(money.sessions, money.keys, watching, batch_no, at=money.clock.now())
    assert watching.ccb_paid_before_icbc_came is pipelined
    assert (progress.files_prepared, progress.files_sent, progress.returns_applied) == (2, 2, 2)
    assert progress.status is BatchStatus.COMPLETED
    assert progress.reconciliation is not None
    assert progress.reconciliation["balanced"]
    assert all(bank.executions_of(f"{batch_no}{n:07d}") == 1 for n in range(1, 9))
    _verified(money)


def test_two_groups_of_returns_applied_at_once_both_land_and_count(
    money: Platform, bank: SandboxBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 0018: once every file is at its bank, a run applies two groups of returns at
    once. On PostgreSQL the two transactions here are held open side by side (each waits, after
    updating its own lines, for the other to get there too) and then both commit: no deadlock
    over the rows they share (tallies, ledger balances, the batch), no count lost, the batch
    reconciled. On SQLite, one writer at a time, the same two calls run one after the other."""
    from socialcard.access import notifications
    from socialcard.banks import services as bank_services
    from socialcard.disbursement import runner
    from socialcard.disbursement.reconciliation import complete_if_reconciled

    maker, checker, _ = _officers(money)
    holders = cardholders(money, 8, banks=BANKS)
    _open(bank, holders)
    batch_no = _approved_batch(money, holders, maker, checker, 12_345)
    at = money.clock.now()
    assert runner.prepare_send_files(money.sessions, money.keys, batch_no, at=at) == 2
    assert bank_services.relay_send_files(money.sessions, bank, at=at).sent == 2
    together = money.engine.dialect.name == "postgresql"
    both_open = threading.Barrier(2, timeout=30)
    record = notifications.record_messages_from

    def meet_then_record(*args: object, **kwargs: object) -> None:
        if together:
            both_open.wait()  # raises BrokenBarrierError if the other never gets here
        record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "record_messages_from", meet_then_record)
    applied: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def apply(bank_code: str) -> None:
        try:
            applied[bank_code] = runner._apply_available_returns(
                money.sessions, bank, batch_no, [bank_code], at=at, refused={}
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=apply, args=(code,)) for code in BANKS]
    for thread in threads:
        thread.start()
        if not together:
            thread.join()
    for thread in threads:
        thread.join()
    assert errors == []
    assert applied == {"ICBC": ["ICBC"], "CCB": ["CCB"]}
    with money.session() as session, transaction(session):
        batch = queries.get_batch(session, batch_no)
        assert (batch.paid_count, batch.paid_minor) == (8, 8 * 12_345)
        assert (batch.failed_count, batch.failed_minor) == (0, 0)
        assert complete_if_reconciled(session, batch, at=at)
        assert batch.reconciliation is not None
        assert batch.reconciliation["balanced"]
        assert session.scalar(select(func.count()).select_from(CardUse)) == 8
        assert session.scalar(select(func.count()).select_from(HolderMessage)) == 8
        assert compare_user_tallies(session, years=[at.year]) == []
    _verified(money)
    # The counts follow each group; reconcile holds them to the lines.
    with money.session() as session, transaction(session):
        session.execute(
            text("UPDATE disbursement_batches SET paid_count = paid_count - 1 WHERE batch_no = :n"),
            {"n": batch_no},
        )
    with money.session() as session:
        report = reconcile(session, queries.get_batch(session, batch_no))
    assert not report["balanced"]
    assert [p for p in report["problems"] if p.startswith("批次计数")] == [
        f"批次计数 成功 7 笔 {8 * 12_345} 分、失败 0 笔 0 分 ≠ 明细 成功 8 笔 {8 * 12_345} 分、"
        "失败 0 笔 0 分"
    ]
