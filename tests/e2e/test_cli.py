"""The operator CLI: migrate, users, household import with resume, audit verify, persons show."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform
from socialcard.cli.main import app
from socialcard.kernel.resident_id import check_character
from tests.support import write_household_file


def rid(address: str, birth: str, sequence: int) -> str:
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def cli_env(platform: Platform) -> dict[str, str]:
    settings = platform.settings
    return {
        "SOCIALCARD_DATABASE_URL": settings.database_url,
        "SOCIALCARD_DATA_DIR": str(settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(settings.resolved_key_file),
        "SOCIALCARD_IMPORT_CHUNK_SIZE": "2",
    }


def invoke(env: dict[str, str], *args: str, input_text: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, input=input_text)
    return result.exit_code, result.stdout, result.stderr


def test_migrate_reports_the_database(cli_env: dict[str, str]) -> None:
    code, out, _ = invoke(cli_env, "migrate")
    assert code == 0
    assert "database migrated" in out


def test_an_operator_resets_a_forgotten_password(
    platform: Platform, cli_env: dict[str, str]
) -> None:
    """The account was locked by guesses and has a session open: the reset lifts the lock, ends
    the session, lets the new password in and not the old one, and is audited."""
    from socialcard.access import services as access
    from socialcard.access.audit import list_records
    from socialcard.access.models import Staff, WebSession
    from socialcard.db import transaction
    from socialcard.errors import NotAuthenticated

    invoke(cli_env, "users", "create", "lin", "--name", "林", "--password", "Counter-2026-ok")
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        staff_id = access.get_staff_by_username(session, "lin").id
        access.start_session(session, staff_id=staff_id, origin="test", at=at)
        staff = session.get(Staff, staff_id)
        assert staff is not None
        staff.locked_until = at.replace(year=at.year + 1)

    weak = invoke(cli_env, "users", "reset-password", "lin", "--password", "short")
    code, out, _ = invoke(cli_env, "users", "reset-password", "lin", "--password", "Fresh-2026-ok")

    assert weak[0] == 1
    assert "error[weak_password]" in weak[2]
    assert code == 0, out
    assert "sessions ended" in out

    def log_in(password: str) -> bool:
        with platform.session() as session, transaction(session):
            try:
                access.authenticate(
                    session,
                    load_policy(),
                    platform.keys,
                    username="lin",
                    password=password,
                    one_time_code=None,
                    at=platform.clock.now(),
                    failures_before_lockout=5,
                    lockout_minutes=15,
                )
            except NotAuthenticated:
                return False
            return True

    assert not log_in("Counter-2026-ok")
    assert log_in("Fresh-2026-ok")
    with platform.session() as session:
        [web_session] = session.query(WebSession).all()
        assert web_session.ended_at is not None
        resets = [r for r in list_records(session, limit=100) if r.action == "staff.reset_password"]
        assert [r.object_id for r in resets] == [str(staff_id)]


def test_users_are_created_granted_and_disabled(cli_env: dict[str, str]) -> None:
    code, out, _ = invoke(
        cli_env,
        "users",
        "create",
        "daoxian_clerk",
        "--name",
        "道县经办",
        "--scope",
        "431124",
        "--password",
        "Counter-2026-ok",
    )
    assert code == 0, out
    code, out, _ = invoke(cli_env, "users", "grant", "daoxian_clerk", "clerk")
    assert code == 0
    assert "now holds clerk" in out
    code, _, err = invoke(cli_env, "users", "grant", "daoxian_clerk", "audit_admin")
    assert code == 1
    assert "error[roles_incompatible]" in err
    code, _, err = invoke(
        cli_env,
        "users",
        "create",
        "weak",
        "--name",
        "弱",
        "--password",
        "short",
    )
    assert code == 1
    assert "error[weak_password]" in err
    code, out, _ = invoke(cli_env, "users", "disable", "daoxian_clerk")
    assert code == 0
    assert "disabled" in out


def test_household_import_prints_the_summary_and_resumes(
    cli_env: dict[str, str], platform: Platform, tmp_path: Path
) -> None:
    wrong = rid("431124", "19800101", 11)
    wrong = wrong[:17] + ("0" if wrong[17] != "0" else "1")
    rows = [
        f"{rid('431124', '19800101', n)},居民{chr(0x4E00 + n)},{'男' if n % 2 else '女'},"
        "汉族,431124,,,,正常"
        for n in range(1, 8)
    ] + [f"{wrong},错号,男,汉族,431124,,,,正常"]
    path = write_household_file(tmp_path, rows)
    report = tmp_path / "errors.csv"
    code, out, _ = invoke(
        cli_env, "import", "household-register", str(path), "--report", str(report)
    )
    assert code == 0, out
    assert "accepted=7 updated=0 unchanged=0 rejected=1" in out
    assert "bad_check_character" in report.read_text(encoding="utf-8-sig")
    code, out, _ = invoke(cli_env, "import", "household-register", str(path))
    assert "accepted=0 updated=0 unchanged=7 rejected=1" in out

    # A third file is interrupted after its first chunk, as a crash would leave it.
    changed = write_household_file(tmp_path / "v2", [r.replace(",汉族,", ",瑶族,") for r in rows])
    from socialcard.access.audit import ANONYMOUS
    from socialcard.db import transaction
    from socialcard.jobs.household_import import run_household_import
    from socialcard.registry.household.importer import create_import

    with platform.session() as session, transaction(session):
        job = create_import(
            session,
            file_name="v2.csv",
            stored_path=changed,
            encoding=None,
            created_by=None,
            at=platform.clock.now(),
        )
    run_household_import(
        platform.sessions,
        platform.keys,
        platform.clock,
        import_id=job.id,
        actor=ANONYMOUS,
        chunk_size=2,
        stop_after_chunks=1,
    )
    code, out, _ = invoke(cli_env, "import", "household-register", str(changed))
    assert code == 0
    assert f"resuming import #{job.id} after row 2" in out
    assert "accepted=0 updated=7 unchanged=0 rejected=1" in out


def test_audit_verify_passes_then_names_the_tampered_record(
    cli_env: dict[str, str], platform: Platform
) -> None:
    invoke(cli_env, "users", "create", "a1", "--name", "甲", "--password", "Counter-2026-ok")
    invoke(cli_env, "users", "create", "a2", "--name", "乙", "--password", "Counter-2026-ok")
    code, out, _ = invoke(cli_env, "audit", "verify")
    assert code == 0
    assert "audit chain intact: 2 records" in out
    with platform.engine.begin() as connection:
        if platform.engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_records_no_update"))
        connection.execute(
            text("UPDATE audit_records SET actor_username = 'someone' WHERE seq = 1")
        )
    code, _, err = invoke(cli_env, "audit", "verify")
    assert code == 1
    assert "first bad record seq=1" in err


def test_persons_show_masks_the_number(cli_env: dict[str, str], tmp_path: Path) -> None:
    number = rid("431124", "19900517", 123)
    path = write_household_file(tmp_path, [f"{number},张三,男,汉族,431124,,,13812345678,正常"])
    invoke(cli_env, "import", "household-register", str(path))
    code, out, _ = invoke(cli_env, "persons", "show", "--resident-id", number)
    assert code == 0
    assert f"431124********{number[-4:]}" in out
    assert number not in out
    assert "138****5678" in out
    code, _, err = invoke(cli_env, "persons", "show", "999999")
    assert code == 1
    assert "error[person_not_found]" in err
