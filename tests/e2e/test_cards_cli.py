"""The operator's card commands: bulk applications, production batches through the sandbox
factory, the nightly lapse, and terminal admission."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from socialcard.bootstrap import Platform
from socialcard.cards import queries
from socialcard.cards import services as cards
from socialcard.cards.models import CardStatus
from socialcard.cards.services import Handling, LossReportKind
from socialcard.cli.main import app
from socialcard.db import transaction
from socialcard.kernel.clock import FixedClock
from tests.support import add_person, give_card, resident_id_for


def _env(platform: Platform) -> dict[str, str]:
    return {
        "SOCIALCARD_DATABASE_URL": platform.settings.database_url,
        "SOCIALCARD_DATA_DIR": str(platform.settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(platform.settings.resolved_key_file),
        "COLUMNS": "200",
    }


def test_bulk_applications_and_a_batch_from_the_command_line(
    platform: Platform, tmp_path: Path
) -> None:
    for n in range(1, 6):
        add_person(platform, resident_id_for("431124", "19900101", n))
    holder = add_person(platform, resident_id_for("431124", "19900101", 9))
    give_card(platform, holder)
    add_person(platform, resident_id_for("431102", "19900101", 1), county="431102")
    runner = CliRunner()
    env = _env(platform)

    bulk = runner.invoke(
        app, ["cards", "apply-bulk", "--bank", "HNRCU", "--county", "431124"], env=env
    )
    assert bulk.exit_code == 0, bulk.output
    assert "applied 5 cards; skipped: none" in bulk.stdout
    listed = tmp_path / "students.csv"
    listed.write_text(
        "社会保障号码,姓名\n"
        f"{resident_id_for('431124', '19900101', 1)},甲\n"
        f"{resident_id_for('431102', '19900101', 1)},乙\n"
        "123,丙\n",
        encoding="utf-8",
    )
    from_file = runner.invoke(
        app, ["cards", "apply-bulk", "--bank", "HNRCU", "--from-file", str(listed)], env=env
    )
    assert from_file.exit_code == 0, from_file.output
    assert "line 4: 社会保障号码 is not a valid ID number" in from_file.stdout
    assert "applied 1 cards; skipped: card_already_in_pipeline=1" in from_file.stdout

    with platform.session() as session:
        waiting = [
            c.card_number
            for p in range(1, 20)
            for c in queries.list_cards_for_holder(session, p)
            if c.status is CardStatus.APPLIED
        ]
    for number in waiting:
        with platform.session() as session, transaction(session):
            cards.collect_card_data(
                session,
                card_number=number,
                handling=Handling(channel="counter", at=platform.clock.now()),
            )
    created = runner.invoke(
        app, ["cards", "batch", "create", "--bank", "HNRCU", "--output-dir", str(tmp_path)], env=env
    )
    assert created.exit_code == 0, created.output
    assert "6 cards" in created.stdout
    batch_no = created.stdout.split()[1].rstrip(":")
    send_file = tmp_path / f"ZK_{batch_no}.txt"
    assert send_file.stat().st_mode & 0o777 == 0o600
    sandbox = runner.invoke(
        app, ["cards", "batch", "run-sandbox", batch_no, "--failure-rate", "0"], env=env
    )
    assert sandbox.exit_code == 0, sandbox.output
    assert "6 produced, 0 failed" in sandbox.stdout
    again = runner.invoke(app, ["cards", "batch", "return", batch_no, str(send_file)], env=env)
    assert again.exit_code == 1
    assert "error[production_file_rejected]" in again.stderr

    shown = runner.invoke(app, ["cards", "show", waiting[0]], env=env)
    assert "已制卡待领" in shown.stdout
    assert "sent_to_production" in shown.stdout


def test_lapse_and_terminals_from_the_command_line(platform: Platform, tmp_path: Path) -> None:
    number = give_card(platform, add_person(platform, resident_id_for("431124", "19900101", 7)))
    with platform.session() as session, transaction(session):
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.TEMPORARY,
            handling=Handling(channel="phone", at=platform.clock.now()),
        )
    runner = CliRunner()
    env = _env(platform)
    assert "lapsed: 0" in runner.invoke(app, ["cards", "lapse-reports"], env=env).stdout
    # The CLI runs on the system clock; back-date the report beyond the policy's seven days.
    assert isinstance(platform.clock, FixedClock)
    with platform.session() as session, transaction(session):
        card = queries.get_card(session, number)
        card.reported_at = platform.clock.now() - timedelta(days=8)
    assert "lapsed: 1" in runner.invoke(app, ["cards", "lapse-reports"], env=env).stdout

    registered = runner.invoke(
        app,
        [
            "terminals",
            "register",
            "KIOSK-431124-09",
            "--kind",
            "kiosk",
            "--name",
            "道县自助机",
            "--county",
            "431124",
            "--location",
            "道县政务中心",
        ],
        env=env,
    )
    assert registered.exit_code == 0, registered.output
    key_file = tmp_path / "kiosk.key"
    admitted = runner.invoke(
        app, ["terminals", "admit", "KIOSK-431124-09", "--key-file", str(key_file)], env=env
    )
    assert admitted.exit_code == 0, admitted.output
    assert len(key_file.read_text().strip()) == 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    listing = runner.invoke(app, ["terminals", "list"], env=env).stdout
    assert "KIOSK-431124-09" in listing
    assert "admitted" in listing
    nightly = runner.invoke(app, ["nightly"], env=env)
    assert nightly.exit_code == 0, nightly.output
    assert "nightly: 0 temporary loss reports lapsed" in nightly.stdout
