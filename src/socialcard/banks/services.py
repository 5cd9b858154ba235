"""Writes of the bank files: store a send file in the outbox, relay the outbox to the bank, and
collect return files and statements.

The outbox rule (DESIGN §4): a file is stored before it is sent; its attempt is committed before
the bank is called; a file that may already be at the bank is asked about, never sent again; and
no database transaction is open while the bank is called, so a slow bank holds no locks.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from socialcard.banks import queries
from socialcard.banks.errors import BankBatchConflict, BankFileInvalid, BankFileNotFound
from socialcard.banks.formats.batch_file import (
    RETURN_VERSION,
    ResultRow,
    SendRow,
    parse_return_rows,
    parse_send_file,
    parse_send_header,
    render_send_rows,
    send_answer_keys,
)
from socialcard.banks.formats.framing import header_encoding
from socialcard.banks.formats.statement import (
    STATEMENT_VERSION,
    AccountStatement,
    parse_statement,
)
from socialcard.banks.gateway import (
    BankGateway,
    BankTimeout,
    BankUnavailable,
    InstructionFile,
    LineResult,
    LineStatus,
    ReturnFile,
)
from socialcard.banks.models import BankFile, BankFileKind, BankFileStatus
from socialcard.db import transaction
from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.faults import crash_point

ERROR_MAX_CHARS = 500


def send_file_name(bank_code: str, batch_no: str) -> str:
    return f"{bank_code}_{batch_no}.SND"


def store_send_file(
    session: Session, file: InstructionFile, *, encoding: str = "gbk", at: datetime
) -> BankFile:
    """Render a batch's send file and put it in the outbox; the same batch again is a no-op.

    Raises:
        BankBatchConflict: the batch number already holds a different file.
    """
    rows = [
        (line.seq, line.end_to_end_id, line.resident_id, line.name, line.account_number,
         line.amount_minor, line.memo)
        for line in file.lines
    ]  # fmt: skip
    return store_send_rows(session, file, rows, encoding=encoding, at=at)


def store_send_rows(
    session: Session,
    file: InstructionFile,
    rows: Sequence[SendRow],
    *,
    encoding: str = "gbk",
    at: datetime,
) -> BankFile:
    """store_send_file over the file's header (its own lines are not read) and its detail lines
    as plain values (render_send_rows): a city-wide batch's file without a million objects."""
    content = render_send_rows(file, rows, encoding=encoding)
    digest = sm3_hex(content)
    stored = queries.find_send_file(session, file.bank_code, file.batch_no)
    if stored is not None:
        if stored.sha256 != digest:
            raise BankBatchConflict(file.bank_code, file.batch_no, BankFileKind.SEND.value)
        return stored
    bank_file = BankFile(
        bank_code=file.bank_code,
        name=send_file_name(file.bank_code, file.batch_no),
        batch_no=file.batch_no,
        kind=BankFileKind.SEND,
        direction=file.direction,
        encoding=codecs.lookup(encoding).name,
        content=content,
        sha256=digest,
        line_count=len(rows),
        amount_minor=sum(row[5] for row in rows),
        status=BankFileStatus.PREPARED,
        attempts=0,
        created_at=at,
    )
    session.add(bank_file)
    session.flush()
    return bank_file


@dataclass(frozen=True, slots=True)
class RelayReport:
    sent: int  # files now known to be at the bank
    pending: int  # files left prepared (bank unavailable or outcome unknown)
    queried: int  # status queries asked because an earlier attempt may have arrived


@dataclass(frozen=True, slots=True)
class _Outgoing:
    bank_code: str
    batch_no: str
    name: str
    content: bytes
    attempts: int


def relay_send_files(
    sessions: sessionmaker[Session],
    gateway: BankGateway,
    *,
    at: datetime,
    bank_code: str | None = None,
    on_sent: Callable[[str, str, bytes], None] | None = None,
) -> RelayReport:
    """Send every prepared file to its bank, each in its own short transactions; `on_sent` is
    called with the bank, the batch number and the file as stored each time a file is known to
    be at its bank (the batch runner reads its return against it, without reading the file
    again, and applies it while the next file goes out).

    Run one relay at a time (`socialcard.db.exclusive_job`, which the batch runner holds): two
    relays could both find a file that is not yet at the bank and both send it.
    """
    sent = pending = queried = 0
    with sessions() as session:
        ids = queries.list_prepared_file_ids(session, bank_code=bank_code)
    for bank_file_id in ids:
        outgoing = _read_outgoing(sessions, bank_file_id)
        if outgoing is None:
            continue
        if outgoing.attempts > 0:
            # An earlier attempt may have reached the bank: ask, never resend blindly.
            try:
                received = gateway.batch_received(outgoing.bank_code, outgoing.batch_no)
            except (BankTimeout, BankUnavailable) as error:
                _record_error(sessions, bank_file_id, f"status query: {error!r}")
                pending += 1
                continue
            queried += 1
            if received:
                _mark_sent(sessions, bank_file_id, at=at)
                sent += 1
                if on_sent is not None:
                    on_sent(outgoing.bank_code, outgoing.batch_no, outgoing.content)
                continue
        with sessions() as session, transaction(session):
            queries.get_bank_file(session, bank_file_id).attempts += 1
        try:
            gateway.submit_file(outgoing.bank_code, outgoing.name, outgoing.content)
        except BankTimeout as error:
            _record_error(sessions, bank_file_id, f"timeout, outcome unknown: {error!r}")
            pending += 1
            continue
        except BankUnavailable as error:
            _record_error(sessions, bank_file_id, f"unavailable: {error!r}")
            pending += 1
            continue
        crash_point("after_bank_accepted")
        _mark_sent(sessions, bank_file_id, at=at)
        sent += 1
        if on_sent is not None:
            on_sent(outgoing.bank_code, outgoing.batch_no, outgoing.content)
    return RelayReport(sent=sent, pending=pending, queried=queried)


def _read_outgoing(sessions: sessionmaker[Session], bank_file_id: int) -> _Outgoing | None:
    with sessions() as session:
        bank_file = queries.get_bank_file(session, bank_file_id)
        if bank_file.status is not BankFileStatus.PREPARED:
            return None
        return _Outgoing(
            bank_file.bank_code,
            bank_file.batch_no,
            bank_file.name,
            bank_file.content,
            bank_file.attempts,
        )


def _mark_sent(sessions: sessionmaker[Session], bank_file_id: int, *, at: datetime) -> None:
    with sessions() as session, transaction(session):
        bank_file = queries.get_bank_file(session, bank_file_id)
        if bank_file.status is BankFileStatus.PREPARED:
            bank_file.mark_sent(at=at)


def _record_error(sessions: sessionmaker[Session], bank_file_id: int, message: str) -> None:
    with sessions() as session, transaction(session):
        queries.get_bank_file(session, bank_file_id).last_error = message[:ERROR_MAX_CHARS]


def collect_return(
    session: Session, gateway: BankGateway, *, bank_code: str, batch_no: str, at: datetime
) -> ReturnFile | None:
    """Fetch, check and keep a batch's return file; None while the bank has not answered.
    BankFileNotFound when the platform never prepared the batch. (Callers that must not hold a
    transaction during the bank call fetch it themselves with `gateway.fetch_return` and hand it
    to `keep_return`.)"""
    if queries.find_send_file(session, bank_code, batch_no) is None:
        raise BankFileNotFound(send_file_name(bank_code, batch_no))
    data = gateway.fetch_return(bank_code, batch_no)
    if data is None:
        return None
    return keep_return(session, bank_code=bank_code, batch_no=batch_no, data=data, at=at)


def keep_return(
    session: Session, *, bank_code: str, batch_no: str, data: bytes, at: datetime
) -> ReturnFile:
    """Check a fetched return file against its send file and keep it. A second delivery of the
    same file stores nothing new.

    Raises:
        BankFileNotFound: the platform never prepared this batch.
        BankFileInvalid: the file breaks the format or does not answer the send file.
        BankBatchConflict: a different return file for the batch is already kept.
    """
    kept = keep_return_rows(session, bank_code=bank_code, batch_no=batch_no, data=data, at=at)
    header, rows = kept.header, kept.rows
    results = tuple(
        LineResult(
            seq, end_to_end_id, amount, LineStatus.DONE if code is None else LineStatus.FAILED,
            code, text,
        )
        for seq, end_to_end_id, amount, code, text in rows
    )  # fmt: skip
    return ReturnFile(header.batch_no, header.bank_code, header.processed_at, results)


@dataclass(frozen=True, slots=True)
class ReadReturn:
    """A return file read as plain values (a row without a reason code is done) and checked
    against its send file, before it is kept."""

    data: bytes
    header: ReturnFile
    rows: list[ResultRow]
    digest: str
    done_count: int
    done_amount: int
    failed_amount: int

    @property
    def failed_count(self) -> int:
        return len(self.rows) - self.done_count


def read_return_rows(data: bytes, send_content: bytes) -> ReadReturn:
    """Parse a return file and check it against its send file (BankFileInvalid otherwise), with
    no database: the batch runner reads a bank's return while it applies another's."""
    header, rows = parse_return_rows(data)
    check_return_rows(header, rows, send_content)
    done_count = done_amount = failed_amount = 0
    for row in rows:
        if row[3] is None:
            done_count += 1
            done_amount += row[2]
        else:
            failed_amount += row[2]
    return ReadReturn(data, header, rows, sm3_hex(data), done_count, done_amount, failed_amount)


def keep_return_rows(
    session: Session,
    *,
    bank_code: str,
    batch_no: str,
    data: bytes,
    at: datetime,
    read: ReadReturn | None = None,
) -> ReadReturn:
    """keep_return, giving the file as read (its results as plain values, a row without a
    reason code done, and its totals): a city-wide return file of a million lines is read once
    and checked in one pass. `read` is this file already read against this send file
    (read_return_rows), if it was."""
    send = queries.find_send_file(session, bank_code, batch_no)
    if send is None:
        raise BankFileNotFound(send_file_name(bank_code, batch_no))
    if read is None or read.data is not data:
        read = read_return_rows(data, send.content)
    kept = queries.find_bank_file(session, bank_code, batch_no, BankFileKind.RETURN)
    if kept is not None:
        if kept.sha256 != read.digest:
            raise BankBatchConflict(bank_code, batch_no, BankFileKind.RETURN.value)
        return read
    session.add(
        BankFile(
            bank_code=bank_code,
            name=f"{bank_code}_{batch_no}.RET",
            batch_no=batch_no,
            kind=BankFileKind.RETURN,
            direction=send.direction,
            encoding=header_encoding(data, version=RETURN_VERSION, encoding_index=5),
            content=data,
            sha256=read.digest,
            line_count=len(read.rows),
            amount_minor=read.done_amount + read.failed_amount,
            status=BankFileStatus.RECEIVED,
            attempts=0,
            created_at=at,
        )
    )
    session.flush()
    return read


def check_return_rows(header: ReturnFile, rows: Sequence[ResultRow], send_content: bytes) -> None:
    """check_return_answers over plain values and the kept send file, in one pass; only a file
    that fails is read again in full, to name its first wrong line."""
    keys = send_answer_keys(send_content)
    seen = bytearray(len(keys) + 1)
    sent = parse_send_header(send_content)
    fine = (header.bank_code, header.batch_no) == (sent.bank_code, sent.batch_no) and len(
        rows
    ) == len(keys)
    if fine:
        count = len(keys)
        for seq, end_to_end_id, amount, _code, _text in rows:
            if not 0 < seq <= count or seen[seq] or keys[seq - 1] != (end_to_end_id, amount):
                fine = False
                break
            seen[seq] = 1
    if not fine:
        results = tuple(
            LineResult(
                seq, end_to_end_id, amount,
                LineStatus.DONE if code is None else LineStatus.FAILED, code, text,
            )
            for seq, end_to_end_id, amount, code, text in rows
        )  # fmt: skip
        answer = ReturnFile(header.batch_no, header.bank_code, header.processed_at, results)
        check_return_answers(answer, parse_send_file(send_content))
        raise BankFileInvalid(len(rows) + 2, "answers", "回盘与送盘不符")


def check_return_answers(answer: ReturnFile, sent: InstructionFile) -> None:
    """A return file must answer exactly its send file: same batch, every line once, with the
    same end-to-end id and amount (DOMAIN §7, reconciliation step 2). Return-file line numbers
    are named in the error (the header is line 1)."""
    if (answer.bank_code, answer.batch_no) != (sent.bank_code, sent.batch_no):
        raise BankFileInvalid(
            1, "batch_no", f"回盘批次 {answer.bank_code}/{answer.batch_no} 不是送盘批次"
        )
    lines = {line.seq: line for line in sent.lines}
    seen: set[int] = set()
    for number, result in enumerate(answer.results, start=2):
        line = lines.get(result.seq)
        if line is None:
            raise BankFileInvalid(number, "unknown_seq", f"送盘中没有序号 {result.seq}")
        if result.seq in seen:
            raise BankFileInvalid(number, "duplicate_seq", f"序号 {result.seq} 重复回盘")
        seen.add(result.seq)
        if result.end_to_end_id != line.end_to_end_id:
            raise BankFileInvalid(number, "end_to_end_id", f"序号 {result.seq} 的端到端编号不符")
        if result.amount_minor != line.amount_minor:
            raise BankFileInvalid(number, "amount", f"序号 {result.seq} 的金额与送盘不符")
    if len(seen) != len(lines):
        missing = min(set(lines) - seen)
        raise BankFileInvalid(
            len(answer.results) + 2,
            "missing_seq",
            f"回盘缺少 {len(lines) - len(seen)} 笔（首个序号 {missing}）",
        )


def collect_statement(
    session: Session, gateway: BankGateway, *, bank_code: str, on: date, at: datetime
) -> tuple[AccountStatement, ...] | None:
    """Fetch, check and keep a bank's daily statement; None while it is not ready."""
    data = gateway.fetch_statement(bank_code, on)
    if data is None:
        return None
    statements = parse_statement(data)
    batch_no = f"STMT-{on:%Y%m%d}"
    digest = sm3_hex(data)
    kept = queries.find_bank_file(session, bank_code, batch_no, BankFileKind.STATEMENT)
    if kept is not None:
        if kept.sha256 != digest:
            raise BankBatchConflict(bank_code, batch_no, BankFileKind.STATEMENT.value)
        return statements
    session.add(
        BankFile(
            bank_code=bank_code,
            name=f"{bank_code}_{batch_no}.txt",
            batch_no=batch_no,
            kind=BankFileKind.STATEMENT,
            direction=None,
            encoding=header_encoding(data, version=STATEMENT_VERSION, encoding_index=6),
            content=data,
            sha256=digest,
            line_count=sum(s.count for s in statements),
            amount_minor=sum(s.closing_balance_minor for s in statements),
            status=BankFileStatus.RECEIVED,
            attempts=0,
            created_at=at,
        )
    )
    session.flush()
    return statements
