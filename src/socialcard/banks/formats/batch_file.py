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

import re

from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.formats.framing import (
    check_field,
    declared_encoding,
    encode_records,
    expect_fields,
    format_timestamp,
    format_yuan,
    parse_count,
    parse_timestamp,
    parse_yuan,
    split_records,
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
    records: list[list[str]] = [header]
    for seq, line in enumerate(file.lines, start=1):
        validate_line(line, seq=seq)
        records.append(
            [
                "D",
                str(line.seq),
                line.end_to_end_id,
                line.resident_id,
                line.name,
                line.account_number,
                format_yuan(line.amount_minor),
                line.memo,
            ]
        )
    records.append(["T", str(file.count), format_yuan(file.amount_minor)])
    return encode_records(records, encoding, first_field="send")


def parse_send_file(data: bytes) -> InstructionFile:
    """Read a send file as the bank does; the trailer must agree with the details."""
    records = split_records(data, version=SEND_VERSION, encoding_index=6)
    header = records[0]
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
    lines: list[InstructionLine] = []
    body, trailer_number = _body_and_trailer(records)
    for number, record in body:
        expect_fields(record, 8, line_number=number, kind="明细行")
        seq = parse_count(record[1], line_number=number, field="序号")
        if seq != len(lines) + 1:
            raise BankFileInvalid(number, "sequence", f"序号应为 {len(lines) + 1}，实为 {seq}")
        if not END_TO_END_ID.match(record[2]):
            raise BankFileInvalid(number, "end_to_end_id", f"端到端编号格式错误：{record[2]!r}")
        amount = parse_yuan(record[6], line_number=number, field="金额")
        if amount <= 0:
            raise BankFileInvalid(number, "amount", "金额必须大于零")
        if len(record[7]) > MEMO_MAX_CHARS:
            raise BankFileInvalid(number, "memo", f"附言超过 {MEMO_MAX_CHARS} 个字符")
        lines.append(
            InstructionLine(seq, record[2], record[3], record[4], record[5], amount, record[7])
        )
    trailer = records[-1]
    expect_fields(trailer, 3, line_number=trailer_number, kind="文件尾")
    count = parse_count(trailer[1], line_number=trailer_number, field="总笔数")
    amount = parse_yuan(trailer[2], line_number=trailer_number, field="总金额")
    if count != len(lines):
        raise BankFileInvalid(
            trailer_number, "trailer_count", f"总笔数 {count} 与明细 {len(lines)} 笔不符"
        )
    total = sum(line.amount_minor for line in lines)
    if amount != total:
        raise BankFileInvalid(
            trailer_number,
            "trailer_amount",
            f"总金额 {trailer[2]} 与明细合计 {format_yuan(total)} 不符",
        )
    return InstructionFile(
        batch_no=header[2],
        bank_code=header[3],
        direction=direction,
        agency_account=header[5],
        purpose=header[9],
        period=header[8],
        created_at=created_at,
        lines=tuple(lines),
    )


def render_return_file(ret: ReturnFile, *, encoding: str = "gbk") -> bytes:
    """The return file the bank writes after processing a batch."""
    declared = declared_encoding(encoding)
    _check_header_values(ret.batch_no, ret.bank_code)
    records: list[list[str]] = [
        [
            "H",
            RETURN_VERSION,
            ret.batch_no,
            ret.bank_code,
            format_timestamp(ret.processed_at),
            declared,
        ]
    ]
    for result in ret.results:
        if result.status is LineStatus.DONE:
            status = SUCCESS_STATUS
        elif result.reason_code is None or not REASON_CODE.match(result.reason_code):
            raise ValueError(f"field reason_code of seq {result.seq} is missing or malformed")
        else:
            status = result.reason_code
        if not END_TO_END_ID.match(result.end_to_end_id):
            raise ValueError(f"field end_to_end_id is malformed: {result.end_to_end_id!r}")
        if result.amount_minor <= 0:
            raise ValueError(f"field amount_minor of seq {result.seq} must be positive")
        records.append(
            [
                "D",
                str(result.seq),
                result.end_to_end_id,
                format_yuan(result.amount_minor),
                status,
                check_field("reason_text", result.reason_text or ""),
            ]
        )
    records.append(
        [
            "T",
            str(ret.done_count),
            format_yuan(ret.done_amount),
            str(ret.failed_count),
            format_yuan(ret.failed_amount),
        ]
    )
    return encode_records(records, encoding, first_field="return")


def parse_return_file(data: bytes) -> ReturnFile:
    """Read a return file; the trailer's success and failure totals must agree with the details."""
    records = split_records(data, version=RETURN_VERSION, encoding_index=5)
    header = records[0]
    expect_fields(header, 6, line_number=1, kind="文件头")
    if not BATCH_NO.match(header[2]) or not BANK_CODE.match(header[3]):
        raise BankFileInvalid(1, "header", "批次号或银行代码格式错误")
    processed_at = parse_timestamp(header[4], line_number=1, field="处理时间")
    results: list[LineResult] = []
    body, trailer_number = _body_and_trailer(records)
    for number, record in body:
        expect_fields(record, 6, line_number=number, kind="明细行")
        seq = parse_count(record[1], line_number=number, field="序号")
        if not END_TO_END_ID.match(record[2]):
            raise BankFileInvalid(number, "end_to_end_id", f"端到端编号格式错误：{record[2]!r}")
        amount = parse_yuan(record[3], line_number=number, field="金额")
        if amount <= 0:
            raise BankFileInvalid(number, "amount", "金额必须大于零")
        if record[4] == SUCCESS_STATUS:
            status, code = LineStatus.DONE, None
        elif REASON_CODE.match(record[4]):
            status, code = LineStatus.FAILED, record[4]
        else:
            raise BankFileInvalid(
                number, "status", f"处理结果应为 0000 或失败原因代码：{record[4]!r}"
            )
        results.append(LineResult(seq, record[2], amount, status, code, record[5] or None))
    trailer = records[-1]
    expect_fields(trailer, 5, line_number=trailer_number, kind="文件尾")
    parsed = ReturnFile(header[2], header[3], processed_at, tuple(results))
    declared = (
        parse_count(trailer[1], line_number=trailer_number, field="成功笔数"),
        parse_yuan(trailer[2], line_number=trailer_number, field="成功金额"),
        parse_count(trailer[3], line_number=trailer_number, field="失败笔数"),
        parse_yuan(trailer[4], line_number=trailer_number, field="失败金额"),
    )
    actual = (parsed.done_count, parsed.done_amount, parsed.failed_count, parsed.failed_amount)
    if declared != actual:
        raise BankFileInvalid(
            trailer_number,
            "trailer_totals",
            "文件尾成功/失败笔数与金额与明细不符："
            f"文件尾 {declared[0]} 笔 {format_yuan(declared[1])}/{declared[2]} 笔 "
            f"{format_yuan(declared[3])}，明细 {actual[0]} 笔 {format_yuan(actual[1])}/"
            f"{actual[2]} 笔 {format_yuan(actual[3])}",
        )
    return parsed


def _body_and_trailer(records: list[list[str]]) -> tuple[list[tuple[int, list[str]]], int]:
    """The detail records with their line numbers, and the trailer's line number (the last line,
    as the banks' own tools expect, DOMAIN §7)."""
    if len(records) < 2 or records[-1][0] != "T":
        raise BankFileInvalid(len(records), "trailer", "最后一行应为文件尾（T|…）")
    body: list[tuple[int, list[str]]] = []
    for number, record in enumerate(records[1:-1], start=2):
        if record[0] != "D":
            raise BankFileInvalid(number, "record_type", f"应为明细行（D|…），实为 {record[0]!r}")
        body.append((number, record))
    return body, len(records)
