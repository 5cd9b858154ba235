"""The production exchange files with the card factory and the partner bank (docs/cards.md,
"Production files"). Pure: render the send file, parse the return file.

Both are text, one record per line, fields separated by "|", CRLF line ends, GBK by default
(UTF-8 when agreed; a UTF-8 file starts with a BOM). H = header, D = detail, T = trailer.

Send file ZK_<batch>.txt:
    H|ZK|<batch_no>|<bank_code>|<count>|<created YYYYMMDDHHMMSS>|<spec_version>
    D|<seq>|<card_number>|<社会保障号码>|<姓名>|<sex 1/2>|<birth YYYYMMDD>|<issuing region>
     |<generation>|<reason>                                        (one line)
    T|<count>|<SM3 of the detail lines, hex>

Return file ZKHP_<batch>.txt:
    H|ZKHP|<batch_no>|<bank_code>|<count>|<returned YYYYMMDDHHMMSS>
    D|<seq>|<card_number>|<result 0 ok / 1 failed>|<card_uid>|<ATR>|<bank account>|<box>
     |<failure stage>|<failure reason>                             (one line)
    T|<ok count>|<failed count>
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from socialcard.kernel.crypto import sm3_hex

SEPARATOR = "|"
LINE_END = "\r\n"
FAILURE_STAGES = {
    "photo": "照片不合格",
    "personalisation": "芯片个人化失败",
    "bank_account": "银行开户失败",
}
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12,19}$")
ATR_PATTERN = re.compile(r"^[0-9A-F]{8,64}$")


@dataclass(frozen=True, slots=True)
class SendLine:
    card_number: str
    resident_id: str
    name: str
    sex_code: str  # 1 male, 2 female (GB/T 2261.1)
    birth_on: str  # YYYYMMDD
    issuing_region_code: str
    generation: int
    reason: str


@dataclass(frozen=True, slots=True)
class ReturnLine:
    line_number: int
    card_number: str
    produced: bool
    card_uid: str
    atr: str
    bank_account: str
    box_location: str
    failure_stage: str
    failure_reason: str


@dataclass(frozen=True, slots=True)
class ReturnFile:
    batch_no: str
    bank_code: str
    lines: list[ReturnLine]
    problems: list[str]


def _clean(value: str) -> str:
    return value.replace(SEPARATOR, " ").replace("\r", " ").replace("\n", " ")


def render_send_file(
    *,
    batch_no: str,
    bank_code: str,
    created_at: datetime,
    spec_version: str,
    lines: list[SendLine],
    encoding: str = "gbk",
) -> bytes:
    details = [
        SEPARATOR.join(
            [
                "D",
                str(number),
                line.card_number,
                line.resident_id,
                _clean(line.name),
                line.sex_code,
                line.birth_on,
                line.issuing_region_code,
                str(line.generation),
                line.reason,
            ]
        )
        for number, line in enumerate(lines, start=1)
    ]
    header = SEPARATOR.join(
        [
            "H",
            "ZK",
            batch_no,
            bank_code,
            str(len(lines)),
            created_at.strftime("%Y%m%d%H%M%S"),
            spec_version,
        ]
    )
    trailer = SEPARATOR.join(["T", str(len(lines)), sm3_hex(LINE_END.join(details).encode())])
    text = LINE_END.join([header, *details, trailer]) + LINE_END
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if encoding == "utf-8" else data


def decode_exchange_file(data: bytes) -> str:
    """UTF-8 with a BOM, else GBK (the banks' default)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("gbk")
    except UnicodeDecodeError:
        return data.decode("utf-8")


def parse_send_file(data: bytes) -> tuple[dict[str, str], list[list[str]]]:
    """Header fields and detail rows of a send file (the sandbox factory reads it)."""
    rows = [line.split(SEPARATOR) for line in decode_exchange_file(data).splitlines() if line]
    header = rows[0]
    if header[:2] != ["H", "ZK"]:
        raise ValueError("not a production send file")
    fields = {
        "batch_no": header[2],
        "bank_code": header[3],
        "count": header[4],
        "spec_version": header[6],
    }
    return fields, [row for row in rows if row[0] == "D"]


def render_return_file(
    *,
    batch_no: str,
    bank_code: str,
    returned_at: datetime,
    rows: list[tuple[str, bool, str, str, str, str, str, str]],
    encoding: str = "gbk",
) -> bytes:
    """rows: (card_number, produced, card_uid, atr, bank_account, box, stage, reason)."""
    details = [
        SEPARATOR.join(
            ["D", str(n), card, "0" if ok else "1", uid, atr, account, box, stage, _clean(reason)]
        )
        for n, (card, ok, uid, atr, account, box, stage, reason) in enumerate(rows, start=1)
    ]
    produced = sum(1 for row in rows if row[1])
    header = SEPARATOR.join(
        ["H", "ZKHP", batch_no, bank_code, str(len(rows)), returned_at.strftime("%Y%m%d%H%M%S")]
    )
    trailer = SEPARATOR.join(["T", str(produced), str(len(rows) - produced)])
    data = (LINE_END.join([header, *details, trailer]) + LINE_END).encode(encoding)
    return (b"\xef\xbb\xbf" + data) if encoding == "utf-8" else data


def parse_return_file(data: bytes) -> ReturnFile:
    """Every line checked; problems name the line and the field (nothing is applied when any)."""
    problems: list[str] = []
    try:
        text = decode_exchange_file(data)
    except UnicodeDecodeError:
        return ReturnFile("", "", [], ["文件编码不是 GBK 或 UTF-8"])
    rows = [line.split(SEPARATOR) for line in text.splitlines() if line.strip()]
    if not rows or rows[0][:2] != ["H", "ZKHP"] or len(rows[0]) < 5:
        return ReturnFile("", "", [], ["第 1 行不是回盘文件头（H|ZKHP|…）"])
    header = rows[0]
    batch_no, bank_code, declared = header[2], header[3], header[4]
    lines: list[ReturnLine] = []
    trailer: list[str] | None = None
    for number, row in enumerate(rows[1:], start=2):
        if row[0] == "T":
            trailer = row
            continue
        if row[0] != "D" or len(row) != 10:
            problems.append(f"第 {number} 行格式错误（应为 10 个字段的明细行）")
            continue
        produced = row[3] == "0"
        if row[3] not in ("0", "1"):
            problems.append(f"第 {number} 行制卡结果只能是 0 或 1")
        if produced:
            if not ACCOUNT_PATTERN.match(row[6]):
                problems.append(f"第 {number} 行银行账号应为 12–19 位数字")
            if not ATR_PATTERN.match(row[5].upper()):
                problems.append(f"第 {number} 行卡复位信息（ATR）格式错误")
        elif row[8] not in FAILURE_STAGES:
            problems.append(f"第 {number} 行失败环节不可识别：{row[8]}")
        lines.append(
            ReturnLine(
                line_number=number,
                card_number=row[2].strip().upper(),
                produced=produced,
                card_uid=row[4].strip().upper(),
                atr=row[5].strip().upper(),
                bank_account=row[6].strip(),
                box_location=row[7].strip(),
                failure_stage=row[8].strip(),
                failure_reason=row[9].strip(),
            )
        )
    if not declared.isdigit() or int(declared) != len(lines):
        problems.append(f"文件头记录数 {declared} 与明细行数 {len(lines)} 不符")
    if trailer is None:
        problems.append("缺少文件尾（T|成功数|失败数）")
    else:
        ok = sum(1 for line in lines if line.produced)
        if trailer[1:3] != [str(ok), str(len(lines) - ok)]:
            problems.append("文件尾的成功数、失败数与明细不符")
    return ReturnFile(batch_no, bank_code, lines, problems)
