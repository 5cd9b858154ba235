"""Reading a department's payee list (发放名单): CSV (UTF-8 or GBK) or XLSX with the columns
社会保障号码, 姓名, 金额 (yuan), 摘要 and an optional 期间. Pure: every row becomes a PayeeRow,
with the first rule it breaks when it breaks one; nothing here touches the database."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

from socialcard.disbursement.errors import PayeeListUnreadable
from socialcard.kernel.collector import collector_paused
from socialcard.kernel.resident_id import InvalidResidentId, ResidentId

COLUMNS: Final = {
    "社会保障号码": "resident_id",
    "公民身份号码": "resident_id",
    "身份证号码": "resident_id",
    "姓名": "name",
    "金额": "amount",
    "金额（元）": "amount",
    "摘要": "memo",
    "期间": "period",
    "发放期间": "period",
}
REQUIRED: Final = ("resident_id", "name", "amount")
MEMO_MAX: Final = 30

# Rejection codes of a line, shown with their Chinese reasons and exported with the list.
REJECTIONS: Final = {
    "resident_id_invalid": "社会保障号码不合规",
    "name_missing": "姓名为空",
    "amount_invalid": "金额不合规",
    "amount_above_limit": "金额超过本项目单笔上限",
    "memo_too_long": f"摘要超过 {MEMO_MAX} 个字",
    "period_mismatch": "期间与批次期间不一致",
    "person_not_found": "户籍库中无此人",
    "person_not_living": "此人已死亡、迁出或注销",
    "name_mismatch": "姓名与户籍库不一致",
    "no_usable_card": "无可用的社会保障卡（未领卡、挂失或注销）",
    "bank_account_missing": "社会保障卡未关联银行账户",
    "bank_account_not_activated": "社会保障卡银行账户未激活",
    "duplicate_in_list": "名单内重复",
    "already_in_programme_period": "本项目本期已发放或正在发放",
    "in_correction_queue": "本项目本期有待纠错的失败明细，请通过纠错重发",
}


class PayeeRow(NamedTuple):
    """A list's data row as read (a named tuple: a million of them are made at once)."""

    seq: int  # the data row's number in the list, from 1
    resident_id: ResidentId | None
    raw_id_masked: str  # what the department wrote, masked, for the rejection report
    name: str
    amount_minor: int
    memo: str
    reject_code: str | None
    reject_detail: str | None


def _mask_raw(raw: str) -> str:
    """What the department wrote, masked like an ID number (DOMAIN §8.3: first 6 and last 4 of
    18) and never more than a fifth of a shorter text; short texts entirely."""
    text = raw.strip()[:18]
    if len(text) == 18:
        return text[:6] + "*" * 8 + text[-4:]
    if len(text) < 12:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 5) + text[-2:]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PayeeListUnreadable("文件既不是 UTF-8 也不是 GBK/GB18030 编码的文本")


def _rows_of_csv(data: bytes) -> Iterator[list[str]]:
    yield from csv.reader(io.StringIO(_decode(data), newline=""))


def _rows_of_xlsx(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise PayeeListUnreadable(
            f"XLSX 文件损坏或不是 Excel 工作簿（{type(error).__name__}）"
        ) from None
    sheet = workbook.worksheets[0]
    for values in sheet.iter_rows(values_only=True):
        yield ["" if v is None else _cell_text(v) for v in values]
    workbook.close()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_PLAIN_AMOUNT = re.compile(r"([0-9]{1,13})(?:\.([0-9]{1,2}))?")


def _amount(text: str, limit: int) -> tuple[int, str | None]:
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain is not None:
        # The common case, yuan with up to two decimals, without Decimal (a million lines).
        yuan, fen = plain.groups()
        minor = int(yuan) * 100 + (int(fen) * (10 if len(fen) == 1 else 1) if fen else 0)
        if minor <= 0:
            return 0, "amount_invalid"
        if minor > limit:
            return minor, "amount_above_limit"
        return minor, None
    cleaned = text.strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(cleaned) * 100
    except InvalidOperation:
        return 0, "amount_invalid"
    if not value.is_finite() or value != value.to_integral_value() or value <= 0:
        return 0, "amount_invalid"
    if value > limit:
        return int(value), "amount_above_limit"
    return int(value), None


def read_payee_list(
    data: bytes, *, filename: str, period: str, max_line_minor: int
) -> list[PayeeRow]:
    """Every data row of the list as a PayeeRow, in file order. A file that is not a list at all
    (wrong type, missing column) raises PayeeListUnreadable naming what is wrong."""
    return list(
        read_payee_rows(data, filename=filename, period=period, max_line_minor=max_line_minor)
    )


def read_payee_rows(
    data: bytes, *, filename: str, period: str, max_line_minor: int
) -> Iterator[PayeeRow]:
    """read_payee_list one row at a time: the header is read and checked at once (a file that
    is not a list raises PayeeListUnreadable here), the rows as they are asked for, so that the
    validation of a city-wide list runs in the database while the next rows are read (decision
    0019)."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        rows = _rows_of_xlsx(data)
    elif lower.endswith((".csv", ".txt")):
        rows = _rows_of_csv(data)
    else:
        raise PayeeListUnreadable("只接受 .xlsx 或 .csv 文件", filename=filename)
    header = next(rows, None)
    if header is None:
        raise PayeeListUnreadable("文件为空")
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        field = COLUMNS.get(title.strip())
        if field and field not in positions:
            positions[field] = index
    missing = [
        name
        for name, field in (("社会保障号码", "resident_id"), ("姓名", "name"), ("金额", "amount"))
        if field not in positions
    ]
    if missing:
        raise PayeeListUnreadable("缺少列：" + "、".join(missing), missing=missing)
    return _payee_rows(rows, positions, period=period, max_line_minor=max_line_minor)


def _payee_rows(
    rows: Iterator[list[str]], positions: dict[str, int], *, period: str, max_line_minor: int
) -> Iterator[PayeeRow]:
    # A million rows of plain values and no cycles: the collector would only rescan them.
    with collector_paused():
        seq = 0
        id_at, name_at, amount_at = (
            positions["resident_id"],
            positions["name"],
            positions["amount"],
        )
        memo_at, period_at = positions.get("memo"), positions.get("period")
        width = max(positions.values()) + 1
        for values in rows:
            if len(values) < width:
                values = [*values, *([""] * (width - len(values)))]
            raw_id, name = values[id_at].strip(), values[name_at].strip()
            if not raw_id and not name and not any(v.strip() for v in values):
                continue  # blank lines at the end of a sheet
            seq += 1
            memo = values[memo_at].strip() if memo_at is not None else ""
            code: str | None = None
            detail: str | None = None
            resident_id: ResidentId | None = None
            try:
                resident_id = ResidentId.parse(raw_id)
            except InvalidResidentId as error:
                code, detail = "resident_id_invalid", error.message
            amount, amount_code = _amount(values[amount_at], max_line_minor)
            if code is None and not name:
                code = "name_missing"
            if code is None and amount_code:
                code = amount_code
            if code is None and len(memo) > MEMO_MAX:
                code = "memo_too_long"
            row_period = values[period_at].strip() if period_at is not None else ""
            if code is None and row_period and row_period != period:
                code, detail = "period_mismatch", f"名单为 {row_period}，批次为 {period}"
            yield PayeeRow(
                seq=seq,
                resident_id=resident_id,
                raw_id_masked=_mask_raw(raw_id),
                name=name[:50],
                amount_minor=amount if amount_code != "amount_invalid" else 0,
                memo=memo[:MEMO_MAX],
                reject_code=code,
                reject_detail=detail,
            )


def render_payee_list(rows: list[tuple[str, str, int, str]]) -> bytes:
    """A CSV payee list (UTF-8 with BOM, as Excel opens it): the demo and the tests use it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["社会保障号码", "姓名", "金额", "摘要"])
    for resident_id, name, amount_minor, memo in rows:
        writer.writerow(
            [resident_id, name, f"{amount_minor // 100}.{amount_minor % 100:02d}", memo]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
