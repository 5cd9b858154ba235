"""The batch send file (送盘) and its return file (回盘), docs/banks.md "Batch files".

Send file:
    H|SC-BATCH-1|batch_no|bank_code|direction|agency_account|encoding|created_at|period|purpose
    D|seq|end_to_end_id|resident_id|name|account_number|amount|memo
    T|count|amount
Return file:
    H|SC-RETURN-1|batch_no|bank_code|processed_at|encoding
    D|seq|end_to_end_id|amount|status (0000 or a reason code)|reason text
    T|done_count|done_amount|failed_count|failed_amount

Rendering is deterministic: the same value always gives the same bytes, so a crashed batch job
that renders its file again produces exactly the file that may already be at the bank.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from datetime import datetime

from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.formats.framing import (
    SEPARATOR,
    check_field,
    declared_encoding,
    encode_lines,
    encode_records,
    expect_fields,
    format_timestamp,
    format_yuan,
    header_encoding,
    parse_count,
    parse_timestamp,
    parse_yuan,
    split_lines,
)
from socialcard.banks.gateway import (
    Direction,
    InstructionFile,
    InstructionLine,
    LineResult,
    LineStatus,
    ReturnFile,
)

SEND_VERSION = "SC-BATCH-1"
RETURN_VERSION = "SC-RETURN-1"
SUCCESS_STATUS = "0000"
MEMO_MAX_CHARS = 30
END_TO_END_ID = re.compile(r"^[A-Z0-9-]{1,32}$")
BATCH_NO = re.compile(r"^[A-Za-z0-9-]{1,40}$")
BANK_CODE = re.compile(r"^[A-Z]{2,10}$")
ACCOUNT = re.compile(r"^[0-9A-Za-z-]{1,40}$")
PERIOD = re.compile(r"^(\d{4}(-\d{2})?)?$")
REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_RESULT = re.compile(
    r"D\|([0-9]{1,9})\|([A-Z0-9-]{1,32})\|([0-9]{1,15})\.([0-9]{2})"
    r"\|(0000|[a-z][a-z0-9_]{0,39})\|([^|\r\n]*)"
)
_DETAIL = re.compile(
    r"D\|([1-9][0-9]*)\|([A-Z0-9-]{1,32})\|([^|\r\n]*)\|([^|\r\n]+)\|([0-9A-Za-z-]{1,40})"
    r"\|([0-9]{1,15})\.([0-9]{2})\|([^|\r\n]{0,30})"
)


def validate_line(line: InstructionLine, *, seq: int | None = None) -> None:
    """Refuse a line the bank could not read back unchanged (ValueError naming the field)."""
    if seq is not None and line.seq != seq:
        raise ValueError(f"field seq must be {seq}, not {line.seq}")
    if line.seq < 1:
        raise ValueError(f"field seq must be at least 1, not {line.seq}")
    if not END_TO_END_ID.match(line.end_to_end_id):
        raise ValueError(
            f"field end_to_end_id must match [A-Z0-9-]{{1,32}}: {line.end_to_end_id!r}"
        )
    if line.amount_minor <= 0:
        raise ValueError(f"field amount_minor must be positive, not {line.amount_minor}")
    if len(line.memo) > MEMO_MAX_CHARS:
        raise ValueError(f"field memo has more than {MEMO_MAX_CHARS} characters")
    if not ACCOUNT.match(line.account_number):
        raise ValueError(f"field account_number is not an account number: {line.account_number!r}")
    for field in ("resident_id", "name", "memo"):
        check_field(field, getattr(line, field))
    if not line.name.strip():
        raise ValueError("field name is empty")


def _check_header_values(batch_no: str, bank_code: str) -> None:
    if not BATCH_NO.match(batch_no):
        raise ValueError(f"field batch_no must match [A-Za-z0-9-]{{1,40}}: {batch_no!r}")
    if not BANK_CODE.match(bank_code):
        raise ValueError(f"field bank_code must be upper-case letters: {bank_code!r}")


def render_send_file(file: InstructionFile, *, encoding: str = "gbk") -> bytes:
    """The send file for a batch; byte-identical for the same value and encoding."""
    return render_send_rows(
        file,
        [
            (line.seq, line.end_to_end_id, line.resident_id, line.name, line.account_number,
             line.amount_minor, line.memo)
            for line in file.lines
        ],
        encoding=encoding,
    )  # fmt: skip


def render_send_rows(
    file: InstructionFile, rows: Sequence[SendRow], *, encoding: str = "gbk"
) -> bytes:
    """render_send_file over the file's header (its own lines are not read) and the detail lines
    as plain values: a city-wide file of a million lines is rendered without a million objects.
    The one renderer of a send file, so both give the same bytes for the same lines."""
    declared = declared_encoding(encoding)
    _check_header_values(file.batch_no, file.bank_code)
    if not ACCOUNT.match(file.agency_account):
        raise ValueError(f"field agency_account is not an account number: {file.agency_account!r}")
    if not PERIOD.match(file.period):
        raise ValueError(f"field period must be YYYY, YYYY-MM or empty: {file.period!r}")
    check_field("purpose", file.purpose)
    header = [
        "H",
        SEND_VERSION,
        file.batch_no,
        file.bank_code,
        Direction(file.direction).value,
        file.agency_account,
        declared,
        format_timestamp(file.created_at),
        file.period,
        file.purpose,
    ]
    details: list[str] = []
    append = details.append
    match = _DETAIL.fullmatch
    total = 0
    for seq, row in enumerate(rows, start=1):
        line_seq, end_to_end_id, resident_id, name, account_number, amount, memo = row
        detail = (
            f"D|{line_seq}|{end_to_end_id}|{resident_id}|{name}|"
            f"{account_number}|{amount // 100}.{amount % 100:02d}|{memo}"
        )
        # One regular expression checks the whole rendered line; only a line that fails it is
        # examined field by field, to name the field (a million lines render in seconds).
        if line_seq != seq or amount <= 0 or not name.strip() or not match(detail):
            validate_line(InstructionLine(*row), seq=seq)
            raise ValueError(f"line {seq} cannot be written: {detail!r}")
        total += amount
        append(detail)
    trailer = SEPARATOR.join(["T", str(len(details)), format_yuan(total)])
    return encode_lines([SEPARATOR.join(header), *details, trailer], encoding, "send")


# A detail line as plain values (seq, end_to_end_id, resident_id, name, account, amount, memo):
# the sandbox bank executes a million of them, where building frozen dataclasses would dominate.
SendRow = tuple[int, str, str, str, str, int, str]
# A result as plain values (seq, end_to_end_id, amount, reason code or None, reason text or None).
ResultRow = tuple[int, str, int, str | None, str | None]


def parse_send_file(data: bytes) -> InstructionFile:
    """Read a send file as the bank does; the trailer must agree with the details."""
    file, rows = parse_send_rows(data)
    lines = tuple(InstructionLine(*row) for row in rows)
    return InstructionFile(
        file.batch_no, file.bank_code, file.direction, file.agency_account, file.purpose,
        file.period, file.created_at, lines,
    )  # fmt: skip


def parse_send_rows(data: bytes) -> tuple[InstructionFile, list[SendRow]]:
    """The header (as a file without lines) and the detail lines as plain values, checked
    exactly as parse_send_file checks them."""
    raw = split_lines(data, version=SEND_VERSION, encoding_index=6)
    file = _send_header(raw[0])
    _check_body(raw)
    rows: list[SendRow] = []
    append = rows.append
    match = _DETAIL.fullmatch
    total = 0
    for number in range(2, len(raw)):
        found = match(raw[number - 1])
        seq = number - 1
        if found is None:
            _explain_detail(raw[number - 1].split(SEPARATOR), number, seq)
        assert found is not None
        seq_text, end_to_end_id, resident_id, name, account, yuan, fen, memo = found.groups()
        amount = int(yuan) * 100 + int(fen)
        if int(seq_text) != seq or not name.strip():
            _explain_detail(raw[number - 1].split(SEPARATOR), number, seq)
        if amount <= 0:
            raise BankFileInvalid(number, "amount", "金额必须大于零")
        total += amount
        append((seq, end_to_end_id, resident_id, name, account, amount, memo))
    trailer_number = len(raw)
    trailer = raw[-1].split(SEPARATOR)
    expect_fields(trailer, 3, line_number=trailer_number, kind="文件尾")
    count = parse_count(trailer[1], line_number=trailer_number, field="总笔数")
    declared = parse_yuan(trailer[2], line_number=trailer_number, field="总金额")
    if count != len(rows):
        raise BankFileInvalid(
            trailer_number, "trailer_count", f"总笔数 {count} 与明细 {len(rows)} 笔不符"
        )
    if declared != total:
        raise BankFileInvalid(
            trailer_number,
            "trailer_amount",
            f"总金额 {trailer[2]} 与明细合计 {format_yuan(total)} 不符",
        )
    return file, rows


def _send_header(line: str) -> InstructionFile:
    header = line.split(SEPARATOR)
    expect_fields(header, 10, line_number=1, kind="文件头")
    try:
        direction = Direction(header[4])
    except ValueError:
        raise BankFileInvalid(
            1, "direction", f"收付方向应为 credit 或 debit：{header[4]!r}"
        ) from None
    if not BATCH_NO.match(header[2]) or not BANK_CODE.match(header[3]):
        raise BankFileInvalid(1, "header", "批次号或银行代码格式错误")
    if not PERIOD.match(header[8]):
        raise BankFileInvalid(1, "period", f"期别格式错误：{header[8]!r}")
    created_at = parse_timestamp(header[7], line_number=1, field="生成时间")
    return InstructionFile(
        batch_no=header[2],
        bank_code=header[3],
        direction=direction,
        agency_account=header[5],
        purpose=header[9],
        period=header[8],
        created_at=created_at,
        lines=(),
    )


def parse_send_header(data: bytes) -> InstructionFile:
    """A send file's header alone (as a file without lines), without reading its details."""
    encoding = header_encoding(data, version=SEND_VERSION, encoding_index=6)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    end = data.find(b"\r\n")
    try:
        first = data[: end if end >= 0 else len(data)].decode(encoding)
    except UnicodeDecodeError:
        raise BankFileInvalid(1, "encoding", "文件头编码错误") from None
    return _send_header(first)


def render_return_file(ret: ReturnFile, *, encoding: str = "gbk") -> bytes:
    """The return file the bank writes after processing a batch."""
    for result in ret.results:
        if (result.status is LineStatus.DONE) != (result.reason_code is None):
            raise ValueError(f"field reason_code of seq {result.seq} is missing or malformed")
    rows = [
        (r.seq, r.end_to_end_id, r.amount_minor, r.reason_code, r.reason_text) for r in ret.results
    ]
    return render_return_rows(
        ret.batch_no, ret.bank_code, ret.processed_at, rows, encoding=encoding
    )


def render_return_rows(
    batch_no: str,
    bank_code: str,
    processed_at: datetime,
    rows: Sequence[ResultRow],
    *,
    encoding: str = "gbk",
) -> bytes:
    """render_return_file over plain values; a row without a reason code is done."""
    declared = declared_encoding(encoding)
    _check_header_values(batch_no, bank_code)
    records: list[Sequence[str]] = [
        [
            "H",
            RETURN_VERSION,
            batch_no,
            bank_code,
            format_timestamp(processed_at),
            declared,
        ]
    ]
    done_count = done_amount = failed_count = failed_amount = 0
    for seq, end_to_end_id, amount, code, text in rows:
        if code is None:
            done_count += 1
            done_amount += amount
        else:
            failed_count += 1
            failed_amount += amount
        status = SUCCESS_STATUS if code is None else code
        detail = f"D|{seq}|{end_to_end_id}|{amount // 100}.{amount % 100:02d}|{status}|{text or ''}"
        if amount <= 0 or code == SUCCESS_STATUS or not _RESULT.fullmatch(detail):
            _explain_result(seq, end_to_end_id, amount, code, text)
        records.append([detail])
    records.append(
        [
            "T",
            str(done_count),
            format_yuan(done_amount),
            str(failed_count),
            format_yuan(failed_amount),
        ]
    )
    return encode_records(records, encoding, first_field="return")


def parse_return_file(data: bytes) -> ReturnFile:
    """Read a return file; the trailer's success and failure totals must agree with the details."""
    header, rows = parse_return_rows(data)
    results = tuple(
        LineResult(
            seq,
            end_to_end_id,
            amount,
            LineStatus.DONE if code is None else LineStatus.FAILED,
            code,
            text,
        )
        for seq, end_to_end_id, amount, code, text in rows
    )
    return ReturnFile(header.batch_no, header.bank_code, header.processed_at, results)


def parse_return_rows(data: bytes) -> tuple[ReturnFile, list[ResultRow]]:
    """The header (as a return file without results) and the results as plain values (a row
    without a reason code is done), checked exactly as parse_return_file checks them: a bank's
    return of a million lines is read once, without a million objects."""
    raw = split_lines(data, version=RETURN_VERSION, encoding_index=5)
    _check_body(raw)
    header = raw[0].split(SEPARATOR)
    expect_fields(header, 6, line_number=1, kind="文件头")
    if not BATCH_NO.match(header[2]) or not BANK_CODE.match(header[3]):
        raise BankFileInvalid(1, "header", "批次号或银行代码格式错误")
    processed_at = parse_timestamp(header[4], line_number=1, field="处理时间")
    rows: list[ResultRow] = []
    append = rows.append
    match = _RESULT.fullmatch
    done_count = done_amount = failed_count = failed_amount = 0
    for number in range(2, len(raw)):
        found = match(raw[number - 1])
        if found is None:
            _explain_result_line(raw[number - 1].split(SEPARATOR), number)
        assert found is not None
        seq_text, end_to_end_id, yuan, fen, code, text = found.groups()
        amount = int(yuan) * 100 + int(fen)
        if amount <= 0:
            raise BankFileInvalid(number, "amount", "金额必须大于零")
        if code == SUCCESS_STATUS:
            done_count += 1
            done_amount += amount
            append((int(seq_text), end_to_end_id, amount, None, text or None))
        else:
            failed_count += 1
            failed_amount += amount
            append((int(seq_text), end_to_end_id, amount, code, text or None))
    trailer_number = len(raw)
    declared = _return_trailer(raw[-1], trailer_number)
    actual = (done_count, done_amount, failed_count, failed_amount)
    if declared != actual:
        raise BankFileInvalid(
            trailer_number,
            "trailer_totals",
            "文件尾成功/失败笔数与金额与明细不符："
            f"文件尾 {declared[0]} 笔 {format_yuan(declared[1])}/{declared[2]} 笔 "
            f"{format_yuan(declared[3])}，明细 {actual[0]} 笔 {format_yuan(actual[1])}/"
            f"{actual[2]} 笔 {format_yuan(actual[3])}",
        )
    return ReturnFile(header[2], header[3], processed_at, ()), rows


def _return_trailer(line: str, trailer_number: int) -> tuple[int, int, int, int]:
    trailer = line.split(SEPARATOR)
    expect_fields(trailer, 5, line_number=trailer_number, kind="文件尾")
    return (
        parse_count(trailer[1], line_number=trailer_number, field="成功笔数"),
        parse_yuan(trailer[2], line_number=trailer_number, field="成功金额"),
        parse_count(trailer[3], line_number=trailer_number, field="失败笔数"),
        parse_yuan(trailer[4], line_number=trailer_number, field="失败金额"),
    )


def return_file_totals(data: bytes) -> tuple[int, int, int, int]:
    """(done count, done amount, failed count, failed amount) from a return file's trailer
    alone. Only for a file already read whole once (parse_return_rows proved that its trailer
    agrees with its details), e.g. a kept return file at reconciliation."""
    header_encoding(data, version=RETURN_VERSION, encoding_index=5)
    body = data.rstrip(b"\r\n")
    last = body[body.rfind(b"\n") + 1 :]
    if not last.startswith(b"T|") or not last.isascii():
        raise BankFileInvalid(0, "trailer", "最后一行应为文件尾（T|…）")
    return _return_trailer(last.decode("ascii"), body.count(b"\n") + 1)


def send_answer_keys(data: bytes) -> list[tuple[str, int]]:
    """(end-to-end id, amount) of every detail line of a send file in order: what its return
    must answer, line by line. Only for a send file the platform wrote and kept (it was checked
    when rendered), so the fields are split, not validated again."""
    lines = split_lines(data, version=SEND_VERSION, encoding_index=6)
    keys: list[tuple[str, int]] = []
    append = keys.append
    for line in lines[1:-1]:
        fields = line.split(SEPARATOR)
        yuan, _, fen = fields[6].partition(".")
        append((fields[2], int(yuan) * 100 + int(fen)))
    return keys


def _check_body(lines: list[str]) -> None:
    if len(lines) < 2 or not lines[-1].startswith("T|"):
        raise BankFileInvalid(len(lines), "trailer", "最后一行应为文件尾（T|…）")
    for number in range(2, len(lines)):
        if not lines[number - 1].startswith("D|"):
            kind = lines[number - 1].split(SEPARATOR)[0]
            raise BankFileInvalid(number, "record_type", f"应为明细行（D|…），实为 {kind!r}")


def _explain_detail(record: list[str], number: int, seq: int) -> None:
    """Name the rule a send-file detail line breaks (only called for a line that breaks one)."""
    expect_fields(record, 8, line_number=number, kind="明细行")
    if parse_count(record[1], line_number=number, field="序号") != seq:
        raise BankFileInvalid(number, "sequence", f"序号应为 {seq}，实为 {record[1]}")
    if not END_TO_END_ID.match(record[2]):
        raise BankFileInvalid(number, "end_to_end_id", f"端到端编号格式错误：{record[2]!r}")
    if not record[4].strip():
        raise BankFileInvalid(number, "name", "户名为空")
    if not ACCOUNT.match(record[5]):
        raise BankFileInvalid(number, "account_number", f"账号格式错误：{record[5]!r}")
    parse_yuan(record[6], line_number=number, field="金额")
    if len(record[7]) > MEMO_MAX_CHARS:
        raise BankFileInvalid(number, "memo", f"附言超过 {MEMO_MAX_CHARS} 个字符")
    raise BankFileInvalid(number, "detail", "明细行格式错误")


def _explain_result(
    seq: int, end_to_end_id: str, amount: int, code: str | None, text: str | None
) -> None:
    """Name what makes a result unwritable (only called for one that is)."""
    if amount <= 0:
        raise ValueError(f"field amount_minor of seq {seq} must be positive")
    if not END_TO_END_ID.match(end_to_end_id):
        raise ValueError(f"field end_to_end_id is malformed: {end_to_end_id!r}")
    if code is not None and not REASON_CODE.match(code):
        raise ValueError(f"field reason_code of seq {seq} is missing or malformed")
    check_field("reason_text", text or "")
    raise ValueError(f"result of seq {seq} cannot be written")


def _explain_result_line(record: list[str], number: int) -> None:
    """Name the rule a return-file detail line breaks (only called for a line that breaks one)."""
    expect_fields(record, 6, line_number=number, kind="明细行")
    parse_count(record[1], line_number=number, field="序号")
    if not END_TO_END_ID.match(record[2]):
        raise BankFileInvalid(number, "end_to_end_id", f"端到端编号格式错误：{record[2]!r}")
    parse_yuan(record[3], line_number=number, field="金额")
    if record[4] != SUCCESS_STATUS and not REASON_CODE.match(record[4]):
        raise BankFileInvalid(number, "status", f"处理结果应为 0000 或失败原因代码：{record[4]!r}")
    raise BankFileInvalid(number, "detail", "明细行格式错误")


def send_file_encoding(data: bytes) -> str:
    """The encoding a send file declares, so the bank can answer in the same one."""
    return header_encoding(data, version=SEND_VERSION, encoding_index=6)
