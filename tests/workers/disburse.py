"""A disbursement worker for the kill tests (RELIABILITY A5): approve a submitted batch if it is
still waiting, then run it until it completes. The test kills this process with SIGKILL — at a
named crash point (SOCIALCARD_CRASH_AT) or at a random moment — and starts it again.

    python -m tests.workers.disburse <database_url> <key_file> <bank_path> <batch_no> <checker_id>
"""

from __future__ import annotations

import sys
from pathlib import Path

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import build_platform
from socialcard.config import Settings
from socialcard.db import transaction
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.models import BatchStatus
from socialcard.disbursement.runner import run_batch
from socialcard.disbursement.services import Officer


def main(argv: list[str]) -> int:
    database_url, key_file, bank_path, batch_no, checker_id = argv
    data_dir = Path(bank_path).parent
    platform = build_platform(
        Settings(
            environment="test",
            database_url=database_url,
            key_file=Path(key_file),
            data_dir=data_dir,
        )
    )
    bank = SandboxBank(Path(bank_path), strict=True)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        batch = disbursement.get_batch_for_update(session, batch_no)
        if batch.status is BatchStatus.SUBMITTED:
            disbursement.approve_batch(
                session, batch_no=batch_no, officer=Officer(int(checker_id), "finance"), at=at
            )
    from socialcard.kernel.faults import crash_point

    crash_point("after_reserve")
    for _ in range(20):
        progress = run_batch(platform.sessions, platform.keys, bank, batch_no, at=at)
        if progress.status in (BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_FAILURES):
            return 0
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
