"""A payee list's ID numbers kept with its batch in encrypted blocks (decision 0022): the send
files take each line's ID number from them; a batch validated before the blocks existed gets
them from the registry once; a damaged block stops the files before any is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from socialcard.banks import queries as bank_queries
from socialcard.banks.formats.batch_file import parse_send_rows
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.disbursement import queries
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.id_blocks import BLANK, list_ids
from socialcard.disbursement.models import BatchStatus, PayeeIdBlock
from socialcard.disbursement.runner import (
    build_send_file,
    prepare_send_files,
    run_batch,
)
from socialcard.disbursement.services import Officer
from socialcard.errors import DomainError
from socialcard.kernel.crypto import DecryptionFailed
from socialcard.ledger import queries as ledger_queries
from tests.integration.disbursement.conftest import BANKS
from tests.money_support import Holder, cardholders, upload_payee_list
from tests.support import make_staff, migrate_down_and_up, resident_id_for


def _approved(
    platform: Platform, bank: SandboxBank, holders: list[Holder], extra: list[tuple[str, str]]
) -> str:
    """A batch of `holders` (10 yuan each) and the `extra` rows (ID, name) after them, submitted
    and approved; the holders' accounts are open at the sandbox bank."""
    bank.open_accounts((h.bank_code, h.account, h.name, h.resident_id, True) for h in holders)
    maker = make_staff(
        platform, "nongye", roles=("disbursement_officer",), department="agriculture"
    )
    checker = make_staff(platform, "caizheng", roles=("finance_approver",), department="finance")
    officer, approver = Officer(maker.staff_id, "agriculture"), Officer(checker.staff_id, "finance")
    rows = [(h.resident_id, h.name, 1_000, "") for h in holders]
    rows += [(resident_id, name, 1_000, "") for resident_id, name in extra]
    batch_no, _ = upload_payee_list(platform, rows, officer=officer)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        disbursement.submit_batch(session, batch_no=batch_no, officer=officer, at=at)
        disbursement.approve_batch(session, batch_no=batch_no, officer=approver, at=at)
    return batch_no


def _blocks(platform: Platform, batch_no: str) -> list[tuple[int, int]]:
    with platform.session() as session:
        batch = queries.get_batch(session, batch_no)
        return [
            (first, count)
            for first, count in session.execute(
                select(PayeeIdBlock.first_seq, PayeeIdBlock.row_count)
                .where(PayeeIdBlock.batch_id == batch.id)
                .order_by(PayeeIdBlock.first_seq)
            )
        ]


def _send_ids(platform: Platform, batch_no: str) -> dict[str, dict[str, str]]:
    """Each stored send file's ID number by end-to-end id, per bank."""
    files: dict[str, dict[str, str]] = {}
    with platform.session() as session:
        for bank_code in BANKS:
            stored = bank_queries.find_send_file(session, bank_code, f"{batch_no}-{bank_code}")
            assert stored is not None
            _, rows = parse_send_rows(stored.content)
            files[bank_code] = {row[1]: row[2] for row in rows}
    return files


def _expected_ids(batch_no: str, holders: list[Holder]) -> dict[str, dict[str, str]]:
    """Each bank's holders' ID numbers by their lines' end-to-end ids (one line per holder, in
    list order)."""
    return {
        bank_code: {
            f"{batch_no}{seq:07d}": h.resident_id
            for seq, h in enumerate(holders, start=1)
            if h.bank_code == bank_code
        }
        for bank_code in BANKS
    }


def test_the_list_keeps_its_id_numbers_in_blocks_of_its_slices_in_list_order(
    money: Platform, bank: SandboxBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disbursement, "VALIDATION_SLICE", 4)
    holders = cardholders(money, 8, banks=BANKS)
    stranger = resident_id_for("431124", "19700101", 999)  # not in the registry: refused
    batch_no = _approved(money, bank, holders, [(stranger, "路人"), ("43112419700101", "错号")])
    # Ten rows in slices of four: three blocks.
    assert _blocks(money, batch_no) == [(1, 4), (5, 4), (9, 2)]
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        ids = list_ids(session, money.keys, batch)
        ciphers = session.scalars(
            select(PayeeIdBlock.ids_cipher).where(PayeeIdBlock.batch_id == batch.id)
        ).all()
    assert ids == "".join(h.resident_id for h in holders) + stranger + BLANK
    # Encrypted: no ID number is stored in the clear.
    assert not any(h.resident_id.encode() in cipher for h in holders for cipher in ciphers)


def test_send_files_take_each_lines_id_number_from_the_list(
    money: Platform, bank: SandboxBank
) -> None:
    holders = cardholders(money, 12, banks=BANKS)
    batch_no = _approved(money, bank, holders, [])
    progress = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED
    assert _send_ids(money, batch_no) == _expected_ids(batch_no, holders)


def test_a_batch_validated_before_the_blocks_gets_them_from_the_registry_once(
    money: Platform, bank: SandboxBank
) -> None:
    """Its send files are those the list's blocks give (the same ID numbers), and written
    again after a crash they are the same bytes."""
    holders = cardholders(money, 10, banks=BANKS)
    batch_no = _approved(money, bank, holders, [])
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        before = {b: build_send_file(session, money.keys, batch, b) for b in BANKS}
    with money.session() as session, transaction(session):
        batch = queries.get_batch(session, batch_no)
        session.execute(delete(PayeeIdBlock).where(PayeeIdBlock.batch_id == batch.id))
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        with pytest.raises(DomainError, match="在名单身份证号块之前校验的"):
            build_send_file(session, money.keys, batch, "CCB")
    assert prepare_send_files(money.sessions, money.keys, batch_no, at=money.clock.now()) == 2
    assert _blocks(money, batch_no) == [(1, 10)]
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert {b: build_send_file(session, money.keys, batch, b) for b in BANKS} == before
    progress = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED


def test_a_damaged_block_stops_the_files_and_names_its_rows(
    money: Platform, bank: SandboxBank
) -> None:
    holders = cardholders(money, 6, banks=BANKS)
    batch_no = _approved(money, bank, holders, [])
    with money.session() as session, transaction(session):
        batch = queries.get_batch(session, batch_no)
        session.execute(
            update(PayeeIdBlock)
            .where(PayeeIdBlock.batch_id == batch.id)
            .values(ids_cipher=b"k1:" + bytes(140))
        )
    with pytest.raises(DecryptionFailed, match=f"批次 {batch_no} 名单第 1–6 行的身份证号无法解密"):
        prepare_send_files(money.sessions, money.keys, batch_no, at=money.clock.now())
    with money.session() as session:
        assert queries.get_batch(session, batch_no).status is BatchStatus.APPROVED
        for bank_code in BANKS:
            assert (
                bank_queries.find_send_file(session, bank_code, f"{batch_no}-{bank_code}") is None
            )


def test_migration_0026_goes_down_and_up_and_an_approved_batch_is_still_paid(
    money: Platform, bank: SandboxBank
) -> None:
    holders = cardholders(money, 8, banks=BANKS)
    batch_no = _approved(money, bank, holders, [])
    migrate_down_and_up(money, "0025")
    # The blocks went with the table; the run writes them again from the registry.
    assert _blocks(money, batch_no) == []
    progress = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED
    assert _blocks(money, batch_no) == [(1, 8)]
    with money.session() as session:
        assert ledger_queries.verify_ledger(session).ok
    assert _send_ids(money, batch_no) == _expected_ids(batch_no, holders)


def test_migration_0027_drops_the_lines_blind_index_and_keeps_their_checks(
    money: Platform, bank: SandboxBank
) -> None:
    """The lines lose a column nobody read; what the table refuses it still refuses."""
    from sqlalchemy import inspect

    from socialcard.disbursement.models import PaymentLine

    holders = cardholders(money, 4, banks=BANKS)
    batch_no = _approved(money, bank, holders, [])
    migrate_down_and_up(money, "0026")
    columns = {c["name"] for c in inspect(money.engine).get_columns("disbursement_lines")}
    assert "resident_id_index" not in columns
    with money.session() as session:
        batch = queries.get_batch(session, batch_no)
        line = session.scalars(
            select(PaymentLine).where(PaymentLine.batch_id == batch.id, PaymentLine.seq == 1)
        ).one()
        assert line.name == holders[0].name
    with pytest.raises(DBAPIError), money.session() as session, transaction(session):
        session.execute(update(PaymentLine).where(PaymentLine.id == line.id).values(status="bogus"))
    progress = run_batch(money.sessions, money.keys, bank, batch_no, at=money.clock.now())
    assert progress.status is BatchStatus.COMPLETED
