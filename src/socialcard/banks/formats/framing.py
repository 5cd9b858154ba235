"""Record framing shared by every bank file: H/D/T records, "|" between fields, CRLF line ends,
and a header whose leading fields are ASCII so the encoding it declares can be read before the
rest of the file is decoded. Amounts are yuan with two decimals; times are Beijing time."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from socialcard.banks.errors import BankFileInvalid
from socialcard.kernel.clock import SHANGHAI

SEPARATOR = "|"
LINE_END = "\r\n"
# Names as written in the header; GB18030 is accepted because some bank tools write it.
DECLARED_ENCODINGS = {"gbk": "GBK", "gb18030": "GB18030", "utf-8": "UTF-8"}
_AMOUNT = re.compile(r"^(-?)(\d{1,15})\.(\d{2})$")
_TIMESTAMP = re.compile(r"^\d{14}$")
_DATE = re.compile(r"^\d{8}$")


def declared_encoding(encoding: str) -> str:
    """The header's name for an encoding; refuses encodings the banks do not exchange."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = ""
    if name not in DECLARED_ENCODINGS:
        raise ValueError(f"encoding {encoding!r} is not one of GBK, GB18030, UTF-8")
    return DECLARED_ENCODINGS[name]


def check_field(field: str, value: str) -> str:
    """Refuse a value that would break the record framing."""
    if SEPARATOR in value or "\r" in value or "\n" in value:
        raise ValueError(f"field {field} contains '|', CR or LF: {value!r}")
    return value


def format_yuan(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def parse_yuan(value: str, *, line_number: int, field: str, signed: bool = False) -> int:
    match = _AMOUNT.match(value)
    if match is None or (match.group(1) and not signed):
        raise BankFileInvalid(line_number, "amount", f"{field} 金额格式错误：{value!r}")
    minor = int(match.group(2)) * 100 + int(match.group(3))
    return -minor if match.group(1) else minor


def format_timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to a bank file")
    return at.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")


def parse_timestamp(value: str, *, line_number: int, field: str) -> datetime:
    if not _TIMESTAMP.match(value):
        raise BankFileInvalid(line_number, "timestamp", f"{field} 时间格式错误：{value!r}")
    try:
        local = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise BankFileInvalid(line_number, "timestamp", f"{field} 时间不存在：{value}") from None
    return local.astimezone(UTC)


def format_date(on: date) -> str:
    return on.strftime("%Y%m%d")


def parse_date(value: str, *, line_number: int, field: str) -> date:
    if not _DATE.match(value):
        raise BankFileInvalid(line_number, "date", f"{field} 日期格式错误：{value!r}")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise BankFileInvalid(line_number, "date", f"{field} 日期不存在：{value}") from None


def parse_count(value: str, *, line_number: int, field: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise BankFileInvalid(line_number, "number", f"{field} 应为非负整数：{value!r}")
    return int(value)


def encode_records(records: Iterable[Sequence[str]], encoding: str, *, first_field: str) -> bytes:
    """Join the records into the file; a character the encoding lacks is named, not mangled."""
    return encode_lines([SEPARATOR.join(record) for record in records], encoding, first_field)


def encode_lines(lines: Sequence[str], encoding: str, first_field: str) -> bytes:
    """encode_records over records already joined into lines."""
    text = LINE_END.join(lines) + LINE_END
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as error:
        bad = error.object[error.start : error.end]
        raise ValueError(f"{bad!r} cannot be written in {encoding} ({first_field} file)") from None


def header_encoding(data: bytes, *, version: str, encoding_index: int) -> str:
    """The encoding a file's header declares (Python's name for it).

    The header's fields up to the encoding are ASCII: they are split on the raw bytes before
    anything is decoded (a GBK trail byte can equal "|", so only the ASCII prefix is split raw).
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].rstrip(b"\r")
    leading = first.split(SEPARATOR.encode(), encoding_index + 1)
    if len(leading) <= encoding_index or not all(part.isascii() for part in leading[:-1]):
        raise BankFileInvalid(1, "header", "第一行不是文件头")
    if leading[0] != b"H" or leading[1].decode("ascii") != version:
        raise BankFileInvalid(1, "header", f"文件头应以 H|{version} 开始")
    declared = leading[encoding_index].decode("ascii", errors="replace")
    encoding = {v: k for k, v in DECLARED_ENCODINGS.items()}.get(declared)
    if encoding is None:
        raise BankFileInvalid(1, "encoding", f"不支持的文件编码：{declared!r}")
    return encoding


def split_lines(data: bytes, *, version: str, encoding_index: int) -> list[str]:
    """Decode the file with the encoding its header declares and split it into lines."""
    encoding = header_encoding(data, version=version, encoding_index=encoding_index)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    declared = DECLARED_ENCODINGS[encoding]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line_number = data.count(b"\n", 0, error.start) + 1
        raise BankFileInvalid(line_number, "encoding", f"内容不是合法的 {declared}") from None
    if not text.endswith(LINE_END):
        raise BankFileInvalid(text.count("\n") + 1, "line_end", "文件未以 CRLF 结束")
    lines = text[: -len(LINE_END)].split(LINE_END)
    # A stray CR or LF inside a line shows as a count that differs from the number of lines;
    # only then is each line looked at, to name the first bad one.
    if text.count("\r") != len(lines) or text.count("\n") != len(lines):
        for number, line in enumerate(lines, start=1):
            if "\r" in line or "\n" in line:
                raise BankFileInvalid(number, "line_end", "行尾应为 CRLF")
    return lines


def split_records(data: bytes, *, version: str, encoding_index: int) -> list[list[str]]:
    """The file's records, each split into its fields."""
    lines = split_lines(data, version=version, encoding_index=encoding_index)
    return [line.split(SEPARATOR) for line in lines]


def expect_fields(record: list[str], count: int, *, line_number: int, kind: str) -> None:
    if len(record) != count:
        raise BankFileInvalid(
            line_number, "field_count", f"{kind}应有 {count} 个字段，实有 {len(record)} 个"
        )
