"""Importing the household register: accepted/rejected split with reasons, idempotent re-import,
updates with history, deaths and moves, crash and resume, GBK and XLSX files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from socialcard.access.audit import ANONYMOUS, verify_chain
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.jobs.household_import import ImportOutcome, run_household_import
from socialcard.kernel.clock import FixedClock
from socialcard.kernel.resident_id import ResidentId, check_character
from socialcard.registry import queries
from socialcard.registry.household.importer import create_import
from socialcard.registry.household.report import render_rejections_csv
from socialcard.registry.models import ImportStatus, Person, PersonStatus, PersonVersion
from tests.support import write_household_file


def rid(address: str, birth: str, sequence: int) -> str:
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + check_character(first17)


GOOD = [
    f"{rid('431124', '19900517', 123)},张三,男,汉族,431124,濂溪街道,道县濂溪街道1号,"
    "13812345678,正常",
    f"{rid('432923', '19600101', 24)},李四,女,瑶族,431124,西洲街道,,,正常",
    f"{rid('431102', '20010203', 35)},王五,男,汉族,431102,徐家井街道,零陵区徐家井1号,,正常",
    f"{rid('431121', '19990909', 46)},赵六,女,汉族,431181,,,0746-1234567,正常",
    f"{rid('110105', '19491231', 2).lower()},外地人,女,汉族,431103,,,,正常",
]
BAD = [
    # The first line gets a wrong check character in fixed_bad_rows().
    f"{rid('431124', '19900517', 123)[:17]}0,坏校验,男,汉族,431124,,,,正常",
    f"{rid('431124', '20010230', 1)},日期错,男,汉族,431124,,,,正常",
    f"{rid('431199', '19900101', 11)},区划错,男,汉族,431124,,,,正常",
    f"{rid('431124', '19800101', 57)},,男,汉族,431124,,,,正常",
    f"{rid('431124', '19800101', 67)},性别错,女,汉族,431124,,,,正常",
    f"{rid('431124', '19800101', 77)},户籍错,男,汉族,430102,,,,正常",
    f"{rid('431124', '19900517', 123)},张三丰,男,汉族,431124,,,,正常",  # conflicting duplicate
]


def fixed_bad_rows() -> list[str]:
    rows = list(BAD)
    number = rid("431124", "19900517", 123)
    wrong = "0" if number[17] != "0" else "1"
    rows[0] = f"{number[:17]}{wrong},坏校验,男,汉族,431124,,,,正常"
    return rows


def start(platform: Platform, path: Path, *, encoding: str | None = None) -> int:
    with platform.session() as session, transaction(session):
        job = create_import(
            session,
            file_name=path.name,
            stored_path=path,
            encoding=encoding,
            created_by=None,
            at=platform.clock.now(),
        )
        return job.id


def run(
    platform: Platform, import_id: int, *, chunk_size: int = 3, stop: int | None = None
) -> ImportOutcome:
    return run_household_import(
        platform.sessions,
        platform.keys,
        platform.clock,
        import_id=import_id,
        actor=ANONYMOUS,
        chunk_size=chunk_size,
        stop_after_chunks=stop,
    )


def import_file(platform: Platform, path: Path, **kwargs: object) -> ImportOutcome:
    return run(platform, start(platform, path), **kwargs)  # type: ignore[arg-type]


def test_messy_file_gives_the_right_split_with_reasons(platform: Platform, tmp_path: Path) -> None:
    path = write_household_file(tmp_path, GOOD + fixed_bad_rows())
    outcome = import_file(platform, path)
    assert outcome.summary == "accepted=5 updated=0 unchanged=0 rejected=7"
    with platform.session() as session:
        codes = {
            (r.row_number, r.code) for r in queries.list_rejections(session, outcome.import_id)
        }
        assert codes == {
            (7, "bad_check_character"),
            (8, "impossible_date"),
            (9, "unknown_region"),
            (10, "missing_name"),
            (11, "sex_contradicts_id"),
            (12, "unknown_household_region"),
            (13, "conflicting_duplicate"),
        }
        report = render_rejections_csv(queries.list_rejections(session, outcome.import_id)).decode(
            "utf-8-sig"
        )
        assert "行号" in report
        assert "公民身份号码校验码错误" in report
        # The report masks identifiers: no full ID number of any row appears in it.
        for line in GOOD + fixed_bad_rows():
            assert line.split(",")[0] not in report
        person = queries.find_person_by_resident_id(
            session, platform.keys, ResidentId.parse(GOOD[0].split(",")[0])
        )
        assert person is not None
        assert (person.name, person.ethnicity, person.residence_township) == (
            "张三",
            "汉族",
            "濂溪街道",
        )
        assert person.residence_county_code == "431124"
        assert person.resident_id_masked == "431124********" + GOOD[0][14:18]
        old_code_person = queries.find_person_by_resident_id(
            session, platform.keys, ResidentId.parse(GOOD[3].split(",")[0])
        )
        assert old_code_person is not None
        assert old_code_person.residence_county_code == "431181"


def test_reimporting_the_same_file_changes_nothing(platform: Platform, tmp_path: Path) -> None:
    path = write_household_file(tmp_path, GOOD + fixed_bad_rows())
    import_file(platform, path)
    with platform.session() as session:
        before = session.execute(
            select(Person.id, Person.content_hash, Person.version, Person.updated_at)
        ).all()
    second = import_file(platform, path)
    assert second.summary == "accepted=0 updated=0 unchanged=5 rejected=7"
    with platform.session() as session:
        after = session.execute(
            select(Person.id, Person.content_hash, Person.version, Person.updated_at)
        ).all()
        assert sorted(after) == sorted(before)
        assert session.scalar(select(func.count()).select_from(PersonVersion)) == 0


def test_a_changed_row_updates_the_person_and_keeps_history(
    platform: Platform, tmp_path: Path
) -> None:
    import_file(platform, write_household_file(tmp_path / "a", GOOD))
    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(timedelta(days=30))
    moved = GOOD[0].replace(
        "濂溪街道,道县濂溪街道1号,13812345678", "上关街道,道县上关街道9号,13900001111"
    )
    died = GOOD[1].replace(",正常", ",死亡")
    outcome = import_file(platform, write_household_file(tmp_path / "b", [moved, died, *GOOD[2:]]))
    assert outcome.summary == "accepted=0 updated=2 unchanged=3 rejected=0"
    with platform.session() as session:
        person = queries.find_person_by_resident_id(
            session, platform.keys, ResidentId.parse(GOOD[0].split(",")[0])
        )
        assert person is not None
        assert person.residence_township == "上关街道"
        assert person.phone_masked == "139****1111"
        assert person.version == 2
        history = queries.list_person_versions(session, person.id)
        assert len(history) == 1
        assert set(history[0].changed_fields) == {
            "residence_township",
            "residence_address",
            "phone_index",
        }
        assert history[0].previous["phone_masked"] == "138****5678"
        assert "13812345678" not in str(history[0].previous)
        dead = queries.find_person_by_resident_id(
            session, platform.keys, ResidentId.parse(GOOD[1].split(",")[0])
        )
        assert dead is not None
        assert dead.status is PersonStatus.DECEASED


def test_a_dead_person_cannot_come_back_to_life(platform: Platform, tmp_path: Path) -> None:
    died = GOOD[1].replace(",正常", ",死亡")
    import_file(platform, write_household_file(tmp_path / "a", [died]))
    outcome = import_file(platform, write_household_file(tmp_path / "b", [GOOD[1], GOOD[1]]))
    assert outcome.summary == "accepted=0 updated=0 unchanged=0 rejected=2"
    with platform.session() as session:
        assert [r.code for r in queries.list_rejections(session, outcome.import_id)] == [
            "status_not_allowed",
            "status_not_allowed",
        ]


def test_an_import_killed_halfway_resumes_to_the_same_result(
    platform: Platform, tmp_path: Path
) -> None:
    rows = GOOD + fixed_bad_rows()
    path = write_household_file(tmp_path, rows)
    import_id = start(platform, path)
    partial = run(platform, import_id, chunk_size=2, stop=3)
    assert partial.status is ImportStatus.RUNNING
    assert partial.accepted + partial.rejected + partial.unchanged == 6
    resumed = run(platform, import_id, chunk_size=2)
    assert resumed.status is ImportStatus.COMPLETED
    assert resumed.summary == "accepted=5 updated=0 unchanged=0 rejected=7"
    with platform.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 5
        assert len({r.row_number for r in queries.list_rejections(session, import_id)}) == 7
        assert verify_chain(session).is_intact


def test_gbk_csv_and_xlsx_files_import_alike(platform: Platform, tmp_path: Path) -> None:
    gbk = write_household_file(tmp_path / "gbk", GOOD[:2], encoding="gbk")
    assert import_file(platform, gbk).summary == "accepted=2 updated=0 unchanged=0 rejected=0"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["公民身份号码", "姓名", "性别", "户籍地区划", "出生日期"])
    sheet.append([GOOD[2].split(",")[0], "王五", "男", 431102, "2001-02-03"])
    sheet.append([GOOD[0].split(",")[0], "张三", "男", 431124, None])
    xlsx = tmp_path / "register.xlsx"
    workbook.save(xlsx)
    outcome = import_file(platform, xlsx)
    # 张三 differs from the GBK import (no township, address or phone in this file): updated.
    assert outcome.summary == "accepted=1 updated=1 unchanged=0 rejected=0"


def test_a_file_without_the_required_columns_fails_with_a_reason(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("姓名,住址\n张三,道县\n", encoding="utf-8")
    outcome = import_file(platform, path)
    assert outcome.status is ImportStatus.FAILED
    assert outcome.failure_reason is not None
    assert "公民身份号码" in outcome.failure_reason


@pytest.mark.parametrize("chunk_size", [1, 4, 100])
def test_chunk_size_does_not_change_the_result(
    platform: Platform, tmp_path: Path, chunk_size: int
) -> None:
    path = write_household_file(tmp_path, GOOD + fixed_bad_rows())
    assert (
        import_file(platform, path, chunk_size=chunk_size).summary
        == "accepted=5 updated=0 unchanged=0 rejected=7"
    )
