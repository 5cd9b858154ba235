"""The operator's bank commands: sandbox accounts, the relay, the file list, serve-files."""

from __future__ import annotations

from typer.testing import CliRunner

from socialcard.banks import services
from socialcard.bootstrap import Platform
from socialcard.cli.main import app
from socialcard.db import transaction
from tests.integration.banks.builders import AT, a_file, holder


def _env(platform: Platform, **extra: str) -> dict[str, str]:
    return {
        "SOCIALCARD_DATABASE_URL": platform.settings.database_url,
        "SOCIALCARD_DATA_DIR": str(platform.settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(platform.settings.resolved_key_file),
        "COLUMNS": "200",
        **extra,
    }


def test_sandbox_accounts_and_the_relay_from_the_command_line(platform: Platform) -> None:
    runner = CliRunner()
    env = _env(platform)
    account, name, resident_id = holder(1)
    opened = runner.invoke(
        app,
        ["banks", "sandbox", "open-account", "ICBC", account, name, "--resident-id", resident_id],
        env=env,
    )
    assert opened.exit_code == 0, opened.output
    again = runner.invoke(app, ["banks", "sandbox", "open-account", "ICBC", account, name], env=env)
    assert again.exit_code == 1
    assert (
        runner.invoke(app, ["banks", "sandbox", "activate", "ICBC", account], env=env).exit_code
        == 0
    )
    with platform.session() as session, transaction(session):
        services.store_send_file(session, a_file([1]), at=AT)
    relayed = runner.invoke(app, ["banks", "relay"], env=env)
    assert relayed.exit_code == 0, relayed.output
    assert "sent 1" in relayed.output
    balance = runner.invoke(app, ["banks", "sandbox", "balance", "ICBC", account], env=env)
    assert "100.00" in balance.output
    listed = runner.invoke(app, ["banks", "files"], env=env)
    assert "ICBC_B1.SND" in listed.output
    assert "sent" in listed.output
    frozen = runner.invoke(
        app, ["banks", "sandbox", "set-state", "ICBC", account, "frozen"], env=env
    )
    assert "frozen" in frozen.output


def test_file_exchange_relay_and_serve_files(platform: Platform) -> None:
    runner = CliRunner()
    env = _env(platform, SOCIALCARD_BANK_GATEWAY="file_exchange")
    with platform.session() as session, transaction(session):
        services.store_send_file(session, a_file([1, 2]), at=AT)
    assert "sent 1" in runner.invoke(app, ["banks", "relay"], env=env).output
    refused = runner.invoke(app, ["banks", "sandbox", "balance", "ICBC", "1"], env=env)
    assert refused.exit_code == 1
    served = runner.invoke(app, ["banks", "sandbox", "serve-files"], env=env)
    assert "processed 1 files" in served.output
    inbox = platform.settings.resolved_bank_exchange_dir / "ICBC" / "inbox"
    assert sorted(p.name for p in inbox.iterdir()) == ["B1.ACK", "B1.RET"]
