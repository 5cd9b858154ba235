"""Bank file formats: golden files in GBK and UTF-8, round trips, and the errors that name the
line and the rule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcard.banks import reasons
from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.formats.batch_file import (
    parse_return_file,
    parse_send_file,
    render_return_file,
    render_send_file,
)
from socialcard.banks.formats.statement import (
    AccountStatement,
    EntrySide,
    StatementEntry,
    parse_statement,
    render_statement,
)
from socialcard.banks.gateway import (
    Direction,
    InstructionFile,
    InstructionLine,
    LineResult,
    LineStatus,
    ReturnFile,
)
from tests.unit.banks.examples import RETURN, SEND, STATEMENT

DATA = Path(__file__).resolve().parents[2] / "data" / "banks"
ENCODINGS = [("gbk", "gbk"), ("utf-8", "utf8")]


@pytest.mark.parametrize(("encoding", "suffix"), ENCODINGS)
class TestGoldenFiles:
    def test_send_file_renders_byte_for_byte(self, encoding: str, suffix: str) -> None:
        golden = (DATA / f"send-{suffix}.txt").read_bytes()
        assert render_send_file(SEND, encoding=encoding) == golden
        assert parse_send_file(golden) == SEND

    def test_return_file_renders_byte_for_byte(self, encoding: str, suffix: str) -> None:
        golden = (DATA / f"return-{suffix}.txt").read_bytes()
        assert render_return_file(RETURN, encoding=encoding) == golden
        assert parse_return_file(golden) == RETURN

    def test_statement_renders_byte_for_byte(self, encoding: str, suffix: str) -> None:
        golden = (DATA / f"statement-{suffix}.txt").read_bytes()
        assert render_statement(STATEMENT, encoding=encoding) == golden
        assert parse_statement(golden) == STATEMENT


def test_golden_send_file_lines_end_in_crlf_and_the_header_declares_the_encoding() -> None:
    golden = (DATA / "send-gbk.txt").read_bytes()
    assert golden.count(b"\r\n") == golden.count(b"\n") == 5
    assert golden.startswith(b"H|SC-BATCH-1|DF2026110001|ICBC|credit|4301000100000001|GBK|")


def test_the_same_file_always_renders_the_same_bytes() -> None:
    assert render_send_file(SEND) == render_send_file(SEND)
    assert SEND.count == 3
    assert SEND.amount_minor == 12345 + 100 + 9876543


# -- round trips ------------------------------------------------------------------------------

names = st.text(alphabet=st.sampled_from("张王李赵刘陈杨黄欧阳丽华明军芳·"), min_size=1, max_size=8)
memos = st.text(alphabet=st.sampled_from("补贴发放2026年ABC -"), max_size=30)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda at: at.replace(microsecond=0))


@st.composite
def instruction_files(draw: st.DrawFn) -> InstructionFile:
    count = draw(st.integers(min_value=0, max_value=12))
    lines = tuple(
        InstructionLine(
            seq,
            draw(st.from_regex(r"[A-Z0-9-]{1,32}", fullmatch=True)),
            draw(st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True)),
            draw(names),
            draw(st.from_regex(r"[0-9]{12,19}", fullmatch=True)),
            draw(st.integers(min_value=1, max_value=10**13)),
            draw(memos),
        )
        for seq in range(1, count + 1)
    )
    return InstructionFile(
        batch_no=draw(st.from_regex(r"[A-Za-z0-9-]{1,40}", fullmatch=True)),
        bank_code=draw(st.sampled_from(["ICBC", "ABC", "BOC", "CCB", "PSBC", "HNRCU", "BOHN"])),
        direction=draw(st.sampled_from(Direction)),
        agency_account=draw(st.from_regex(r"[0-9]{12,19}", fullmatch=True)),
        purpose=draw(names),
        period=draw(st.sampled_from(["", "2026", "2026-11"])),
        created_at=draw(instants),
        lines=lines,
    )


@given(instruction_files(), st.sampled_from(["gbk", "utf-8", "gb18030"]))
def test_send_file_round_trips(file: InstructionFile, encoding: str) -> None:
    assert parse_send_file(render_send_file(file, encoding=encoding)) == file


@st.composite
def return_files(draw: st.DrawFn) -> ReturnFile:
    results = []
    for seq in range(1, draw(st.integers(min_value=0, max_value=12)) + 1):
        code = draw(st.none() | st.sampled_from(sorted(reasons.REASONS)))
        results.append(
            LineResult(
                seq,
                draw(st.from_regex(r"[A-Z0-9-]{1,32}", fullmatch=True)),
                draw(st.integers(min_value=1, max_value=10**13)),
                LineStatus.DONE if code is None else LineStatus.FAILED,
                code,
                None if code is None else reasons.describe(code),
            )
        )
    return ReturnFile(
        draw(st.from_regex(r"[A-Za-z0-9-]{1,40}", fullmatch=True)),
        "CCB",
        draw(instants),
        tuple(results),
    )


@given(return_files(), st.sampled_from(["gbk", "utf-8"]))
def test_return_file_round_trips(ret: ReturnFile, encoding: str) -> None:
    assert parse_return_file(render_return_file(ret, encoding=encoding)) == ret


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(
        st.tuples(st.sampled_from(EntrySide), st.integers(min_value=1, max_value=10**10)),
        max_size=10,
    ),
    instants,
)
def test_statement_round_trips(
    opening: int, moves: list[tuple[EntrySide, int]], at: datetime
) -> None:
    entries = tuple(
        StatementEntry(f"DF-{n}", side, amount, at + timedelta(seconds=n))
        for n, (side, amount) in enumerate(moves)
    )
    statement = AccountStatement("BOC", "430100", "代发专户", at.date(), opening, entries)
    assert parse_statement(render_statement([statement, statement])) == (statement, statement)


# -- refusals ---------------------------------------------------------------------------------


def _line(**changes: object) -> InstructionFile:
    fields: dict[str, object] = {
        "seq": 1,
        "end_to_end_id": "E-1",
        "resident_id": "431102199001011234",
        "name": "张三",
        "account_number": "6222080000000001",
        "amount_minor": 100,
        "memo": "",
    }
    fields.update(changes)
    return InstructionFile(
        "B1", "ICBC", Direction.CREDIT, "43010001", "补贴", "", SEND.created_at,
        (InstructionLine(**fields),),  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "张|三"}, "name"),
        ({"memo": "a\r\nb"}, "memo"),
        ({"resident_id": "4311|"}, "resident_id"),
        ({"end_to_end_id": "e-lower"}, "end_to_end_id"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"memo": "补" * 31}, "memo"),
        ({"seq": 2}, "seq"),
        ({"name": " "}, "name"),
    ],
)
def test_render_refuses_a_field_that_would_break_the_file(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=f"field {field}"):
        render_send_file(_line(**changes))


def test_render_refuses_a_separator_in_the_purpose() -> None:
    bad = dataclasses.replace(_line(), purpose="a|b")
    with pytest.raises(ValueError, match="field purpose"):
        render_send_file(bad)


def test_render_names_a_character_gbk_cannot_write() -> None:
    with pytest.raises(ValueError, match="cannot be written in gbk"):
        render_send_file(_line(name="𠮷"))
    assert (
        parse_send_file(render_send_file(_line(name="𠮷"), encoding="gb18030")).lines[0].name
        == "𠮷"
    )


def _replace_line(data: bytes, number: int, line: str, encoding: str = "gbk") -> bytes:
    lines = data.decode(encoding).split("\r\n")
    lines[number - 1] = line
    return "\r\n".join(lines).encode(encoding)


def _golden(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize(
    ("number", "line", "rule"),
    [
        (5, "T|4|98889.88", "trailer_count"),
        (5, "T|3|98889.89", "trailer_amount"),
        (5, "T|3|98889.8", "amount"),
        (
            3,
            "D|3|DF2026110001-000002|43112219850505002X|欧阳丽华|6222080000000002|1.00|",
            "sequence",
        ),
        (3, "D|2|DF2026110001-000002|43112219850505002X|欧阳丽华|6222080000000002|0.00|", "amount"),
        (
            3,
            "D|2|DF2026110001-000002|43112219850505002X|欧阳丽华|6222080000000002|1.00",
            "field_count",
        ),
        (3, "X|2", "record_type"),
        (
            1,
            "H|SC-BATCH-1|DF2026110001|ICBC|sideways|4301|GBK|20261129100000|2026|补贴",
            "direction",
        ),
    ],
)
def test_parse_send_file_names_the_line_and_the_rule(number: int, line: str, rule: str) -> None:
    with pytest.raises(BankFileInvalid) as raised:
        parse_send_file(_replace_line(_golden("send-gbk.txt"), number, line))
    assert (raised.value.line_number, raised.value.rule) == (number, rule)
    assert raised.value.code == "bank_file_invalid"


def test_parse_refuses_an_undeclared_encoding_and_a_missing_trailer() -> None:
    golden = _golden("send-gbk.txt")
    with pytest.raises(BankFileInvalid) as raised:
        parse_send_file(golden.replace(b"|GBK|", b"|BIG5|", 1))
    assert raised.value.rule == "encoding"
    with pytest.raises(BankFileInvalid) as raised:
        parse_send_file(golden.replace(b"|GBK|", b"|UTF-8|", 1))
    assert raised.value.rule == "encoding"
    without_trailer = golden[: golden.rindex(b"T|")]
    with pytest.raises(BankFileInvalid) as raised:
        parse_send_file(without_trailer)
    assert raised.value.rule == "trailer"
    with pytest.raises(BankFileInvalid) as raised:
        parse_send_file(golden.replace(b"\r\n", b"\n"))
    assert raised.value.rule == "line_end"


def test_parse_return_file_checks_the_trailer_totals() -> None:
    golden = _golden("return-utf8.txt")
    with pytest.raises(BankFileInvalid) as raised:
        parse_return_file(_replace_line(golden, 5, "T|3|98889.88|0|0.00", "utf-8"))
    assert (raised.value.line_number, raised.value.rule) == (5, "trailer_totals")
    with pytest.raises(BankFileInvalid) as raised:
        parse_return_file(_replace_line(golden, 3, "D|2|DF2026110001-000002|1.00|NOPE|x", "utf-8"))
    assert (raised.value.line_number, raised.value.rule) == (3, "status")


def test_parse_statement_checks_the_closing_balance() -> None:
    golden = _golden("statement-gbk.txt")
    with pytest.raises(BankFileInvalid) as raised:
        parse_statement(_replace_line(golden, 4, "T|951111.13|2"))
    assert (raised.value.line_number, raised.value.rule) == (4, "trailer_balance")


def test_a_send_file_is_not_read_as_a_return_file() -> None:
    with pytest.raises(BankFileInvalid) as raised:
        parse_return_file(_golden("send-gbk.txt"))
    assert raised.value.rule == "header"


def test_a_result_must_carry_a_reason_exactly_when_it_failed() -> None:
    done_with_reason = dataclasses.replace(RETURN.results[0], reason_code="dormant")
    failed_without = dataclasses.replace(RETURN.results[1], reason_code=None)
    for wrong in (done_with_reason, failed_without):
        with pytest.raises(ValueError, match="field reason_code"):
            render_return_file(dataclasses.replace(RETURN, results=(wrong,)))
