"""Run a household-register import to the end: one transaction per chunk, resumable.

Each chunk's persons, history, rejections and the import's cursor commit together, so killing
the process at any point and running the same import again gives the same final result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from socialcard.access.audit import Actor, AuditEvent, append_audit
from socialcard.access.models import AuditResult
from socialcard.cards.services import Handling, cancel_cards_of_departed
from socialcard.db import transaction
from socialcard.errors import DomainError
from socialcard.kernel.clock import Clock, local_today
from socialcard.kernel.crypto import KeyRing
from socialcard.regions.models import Region
from socialcard.regions.queries import list_regions, resolve_county_code_in
from socialcard.registry.errors import ImportAlreadyCompleted, ImportNotFound
from socialcard.registry.household.importer import (
    SeenIds,
    complete_import,
    fail_import,
    import_chunk,
    remember_skipped_rows,
    start_import,
)
from socialcard.registry.household.reader import RawRow, count_rows, iter_rows
from socialcard.registry.models import HouseholdImport, ImportStatus

ProgressCallback = Callable[[int, int], None]
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    import_id: int
    status: ImportStatus
    accepted: int
    updated: int
    unchanged: int
    rejected: int
    failure_reason: str | None

    @property
    def summary(self) -> str:
        return (
            f"accepted={self.accepted} updated={self.updated} "
            f"unchanged={self.unchanged} rejected={self.rejected}"
        )


def _county_map(session: Session) -> dict[str, str | None]:
    regions: dict[str, Region] = {r.code: r for r in list_regions(session)}
    return {code: resolve_county_code_in(regions, code) for code in regions}


def _chunks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def run_household_import(
    sessions: sessionmaker[Session],
    keys: KeyRing,
    clock: Clock,
    *,
    import_id: int,
    actor: Actor,
    chunk_size: int,
    on_progress: ProgressCallback | None = None,
    stop_after_chunks: int | None = None,
) -> ImportOutcome:
    """Import (or resume) the given import to completion.

    `stop_after_chunks` ends the run early as a crash would (for tests and drills); the import
    stays running and resumes from its cursor next time.
    """
    with sessions() as session, transaction(session):
        job = session.get(HouseholdImport, import_id)
        if job is None:
            raise ImportNotFound(import_id)
        if job.status is ImportStatus.COMPLETED:
            raise ImportAlreadyCompleted(import_id)
        path = Path(job.stored_path)
        total = count_rows(path, job.file_format)
        start_import(job, total_rows=total, at=clock.now())
        county_of = _county_map(session)
        rows_done = job.rows_done
        file_format, encoding = job.file_format, job.encoding
    today = local_today(clock)
    seen = SeenIds()
    try:
        rows = iter_rows(path, file_format, encoding)
        skipped = list(islice(rows, rows_done)) if rows_done else []
        remember_skipped_rows(skipped, keys, seen, today=today, county_of=county_of)
        del skipped
        if on_progress:
            on_progress(rows_done, total)
        for chunk_number, chunk in enumerate(_chunks(rows, chunk_size), start=1):
            with sessions() as session, transaction(session):
                job = session.get(HouseholdImport, import_id)
                assert job is not None
                import_chunk(
                    session,
                    keys,
                    job,
                    chunk,
                    seen,
                    today=today,
                    county_of=county_of,
                    at=clock.now(),
                )
                done = job.rows_done
            if on_progress:
                on_progress(done, max(total, done))
            if stop_after_chunks is not None and chunk_number >= stop_after_chunks:
                return _outcome(sessions, import_id)
    except DomainError as error:
        with sessions() as session, transaction(session):
            job = session.get(HouseholdImport, import_id)
            assert job is not None
            fail_import(job, reason=error.message, at=clock.now())
            _audit(session, job, actor, clock, AuditResult.FAILURE)
        return _outcome(sessions, import_id)
    with sessions() as session, transaction(session):
        job = session.get(HouseholdImport, import_id)
        assert job is not None
        complete_import(job, at=clock.now())
        # Deaths and moves the register just recorded end the people's cards (the cancellation
        # events are what the partner banks are told), in the same transaction as completion.
        cancelled = cancel_cards_of_departed(
            session, handling=Handling(channel="system", at=clock.now())
        )
        _audit(session, job, actor, clock, AuditResult.SUCCESS, cards_cancelled=len(cancelled))
    return _outcome(sessions, import_id)


def _audit(
    session: Session,
    job: HouseholdImport,
    actor: Actor,
    clock: Clock,
    result: AuditResult,
    *,
    cards_cancelled: int = 0,
) -> None:
    append_audit(
        session,
        AuditEvent(
            actor=actor,
            action="import.household_register",
            result=result,
            object_type="household_import",
            object_id=str(job.id),
            details={
                "accepted": job.accepted,
                "updated": job.updated,
                "unchanged": job.unchanged,
                "rejected": job.rejected,
                "rows": job.rows_done,
                "cards_cancelled": cards_cancelled,
            },
        ),
        at=clock.now(),
    )


def _outcome(sessions: sessionmaker[Session], import_id: int) -> ImportOutcome:
    with sessions() as session:
        job = session.get(HouseholdImport, import_id)
        assert job is not None
        return ImportOutcome(
            import_id=job.id,
            status=job.status,
            accepted=job.accepted,
            updated=job.updated,
            unchanged=job.unchanged,
            rejected=job.rejected,
            failure_reason=job.failure_reason,
        )


def start_in_background(
    sessions: sessionmaker[Session],
    keys: KeyRing,
    clock: Clock,
    *,
    import_id: int,
    actor: Actor,
    chunk_size: int,
) -> threading.Thread:
    """Run an import on a daemon thread (the web and API return at once and show progress)."""

    def work() -> None:
        try:
            run_household_import(
                sessions, keys, clock, import_id=import_id, actor=actor, chunk_size=chunk_size
            )
        except Exception:
            logger.exception("household import %s stopped; it resumes from its cursor", import_id)

    thread = threading.Thread(target=work, name=f"household-import-{import_id}", daemon=True)
    thread.start()
    return thread


def list_unfinished_import_ids(sessions: sessionmaker[Session]) -> list[int]:
    """Imports a crash left running (the server resumes them when it starts)."""
    with sessions() as session:
        stmt = select(HouseholdImport.id).where(
            HouseholdImport.status.in_([ImportStatus.PENDING, ImportStatus.RUNNING])
        )
        return list(session.scalars(stmt))
