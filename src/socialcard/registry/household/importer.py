"""The household-register import, one chunk at a time.

The job that drives it (socialcard.jobs.household_import) commits after every chunk together
with the import's cursor (rows_done), so a crash loses at most the chunk in flight and a re-run
resumes with the same result. Within a chunk every write is set-based: one SELECT of the known
persons, one bulk INSERT, one bulk UPDATE, one INSERT of history and one of rejections.

Outcomes per row: accepted (new person), updated (known person, changed fields, history kept),
unchanged (identical content) or rejected (every problem kept with field, code and reason).
A resident ID seen earlier in the same file with different content is a conflicting duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialcard.db import bulk_insert
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.masking import mask_name, mask_phone, mask_resident_id
from socialcard.registry.household.reader import RawRow, detect_format, normalise_encoding
from socialcard.registry.household.rules import PersonRecord, RowProblem, check_row
from socialcard.registry.models import (
    PERSON_TRANSITIONS,
    HouseholdImport,
    ImportRejection,
    ImportStatus,
    Person,
    PersonVersion,
)
from socialcard.registry.services import (
    TRACKED_FIELDS,
    changeable_values,
    history_value,
    person_values,
    resident_id_index,
)

SOURCE = "household_register"


def file_digest(path: Path) -> str:
    """SM3 of the file's bytes: the same file resumes the same import."""
    digest = hashes.Hash(hashes.SM3())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.finalize().hex()


def create_import(
    session: Session,
    *,
    file_name: str,
    stored_path: Path,
    encoding: str | None,
    created_by: int | None,
    at: datetime,
) -> HouseholdImport:
    """Register a stored file as a new import, pending."""
    job = HouseholdImport(
        file_name=file_name,
        stored_path=str(stored_path),
        file_digest=file_digest(stored_path),
        file_format=detect_format(file_name),
        encoding=normalise_encoding(encoding),
        status=ImportStatus.PENDING,
        rows_done=0,
        accepted=0,
        updated=0,
        unchanged=0,
        rejected=0,
        created_by=created_by,
        created_at=at,
    )
    session.add(job)
    session.flush()
    return job


def find_unfinished_import(session: Session, digest: str) -> HouseholdImport | None:
    """An import of the same file that did not finish (crashed or failed): resume it."""
    stmt = (
        select(HouseholdImport)
        .where(
            HouseholdImport.file_digest == digest,
            HouseholdImport.status.in_(
                [ImportStatus.PENDING, ImportStatus.RUNNING, ImportStatus.FAILED]
            ),
        )
        .order_by(HouseholdImport.id.desc())
    )
    return session.scalars(stmt).first()


@dataclass
class SeenIds:
    """IDs of valid rows met earlier in this file, as 64-bit prefixes of their blind index.

    64 bits keep 5.3M rows in a few hundred MB; a prefix collision (odds about 1 in 10^6 over
    the whole city) would at worst reject one row as a conflicting duplicate, and the report
    shows it.
    """

    keys: set[int] = field(default_factory=set)

    @staticmethod
    def key(index: str) -> int:
        return int(index[:16], 16)

    def __contains__(self, index: str) -> bool:
        return self.key(index) in self.keys

    def add(self, index: str) -> None:
        self.keys.add(self.key(index))


@dataclass
class ChunkCounts:
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


def masked_row(values: dict[str, str]) -> dict[str, str]:
    """The raw row as the error report may show it: identifiers and the name masked."""
    shown = dict(values)
    if shown.get("resident_id"):
        shown["resident_id"] = mask_resident_id(shown["resident_id"].strip())
    if shown.get("phone"):
        shown["phone"] = mask_phone(shown["phone"].strip())
    if shown.get("name"):
        shown["name"] = mask_name(shown["name"].strip())
    return shown


def remember_skipped_rows(
    rows: list[RawRow],
    keys: KeyRing,
    seen: SeenIds,
    *,
    today: date,
    county_of: dict[str, str | None],
) -> None:
    """Rebuild the seen-ID set for rows a resumed import skips (they were committed before)."""
    for row in rows:
        checked = check_row(row.values, today=today, county_of=county_of)
        if isinstance(checked, PersonRecord):
            seen.add(resident_id_index(keys, checked.resident_id))


def import_chunk(
    session: Session,
    keys: KeyRing,
    job: HouseholdImport,
    rows: list[RawRow],
    seen: SeenIds,
    *,
    today: date,
    county_of: dict[str, str | None],
    at: datetime,
) -> ChunkCounts:
    """Validate and write one chunk of rows; advance the import's cursor and counters."""
    counts = ChunkCounts()
    rejections: list[dict[str, Any]] = []
    valid: list[tuple[RawRow, PersonRecord, str]] = []

    def reject(row: RawRow, problems: list[RowProblem]) -> None:
        counts.rejected += 1
        shown = masked_row(row.values)
        for problem in problems:
            rejections.append(
                {
                    "import_id": job.id,
                    "row_number": row.row_number,
                    "field": problem.field,
                    "code": problem.code,
                    "reason": problem.reason,
                    "row_masked": shown,
                }
            )

    for row in rows:
        checked = check_row(row.values, today=today, county_of=county_of)
        if isinstance(checked, list):
            reject(row, checked)
        else:
            valid.append((row, checked, resident_id_index(keys, checked.resident_id)))

    existing: dict[str, dict[str, Any]] = {}
    indexes = [index for _, _, index in valid]
    for start in range(0, len(indexes), 2000):
        batch = indexes[start : start + 2000]
        stmt = select(
            Person.id,
            Person.resident_id_index,
            Person.content_hash,
            Person.version,
            Person.phone_masked,
            *[getattr(Person, f) for f in TRACKED_FIELDS],
        ).where(Person.resident_id_index.in_(batch))
        for found in session.execute(stmt).mappings():
            existing[found["resident_id_index"]] = dict(found)

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    # Content written earlier in this chunk, by index, so in-chunk duplicates compare correctly.
    current_hash: dict[str, str] = {i: e["content_hash"] for i, e in existing.items()}

    for row, record, index in valid:
        content_hash = record.content_hash
        known = existing.get(index)
        if index in seen:
            if current_hash.get(index) == content_hash:
                counts.unchanged += 1
            elif _status_refused(known, record):
                # A repeat of a row already refused for its status gets the same reason.
                reject(row, [RowProblem("status", "status_not_allowed")])
            else:
                reject(row, [RowProblem("resident_id", "conflicting_duplicate")])
            continue
        seen.add(index)
        if known is None:
            values = person_values(keys, record, source=SOURCE, at=at, index=index)
            values.update(last_import_id=job.id, last_import_row=row.row_number)
            inserts.append(values)
            current_hash[index] = content_hash
            counts.accepted += 1
            continue
        if known["content_hash"] == content_hash:
            counts.unchanged += 1
            continue
        new_values = changeable_values(keys, record)
        changed = [f for f in TRACKED_FIELDS if known[f] != new_values[f]]
        if _status_refused(known, record):
            reject(row, [RowProblem("status", "status_not_allowed")])
            continue
        if not changed:
            # Only the hash recipe differs (e.g. written by an older version): refresh it.
            updates.append({"id": known["id"], "content_hash": content_hash})
            counts.unchanged += 1
            continue
        previous = {f: history_value(f, known[f]) for f in changed}
        if "phone_index" in changed:
            previous["phone_masked"] = known["phone_masked"]
        versions.append(
            {
                "person_id": known["id"],
                "version": known["version"],
                "changed_at": at,
                "source": SOURCE,
                "import_id": job.id,
                "changed_fields": changed,
                "previous": previous,
            }
        )
        updates.append(
            {
                "id": known["id"],
                **new_values,
                "version": known["version"] + 1,
                "source": SOURCE,
                "updated_at": at,
                "last_import_id": job.id,
                "last_import_row": row.row_number,
            }
        )
        current_hash[index] = content_hash
        counts.updated += 1

    bulk_insert(session, Person.__table__, inserts)
    if updates:
        session.execute(update(Person), updates)
    bulk_insert(session, PersonVersion.__table__, versions)
    bulk_insert(session, ImportRejection.__table__, rejections)

    job.rows_done += len(rows)
    job.accepted += counts.accepted
    job.updated += counts.updated
    job.unchanged += counts.unchanged
    job.rejected += counts.rejected
    return counts


def _status_refused(known: dict[str, Any] | None, record: PersonRecord) -> bool:
    """Whether the row asks for a status change the registry does not allow (e.g. back to
    living after a recorded death)."""
    if known is None or known["status"] is record.status:
        return False
    return record.status not in PERSON_TRANSITIONS[known["status"]]


def start_import(job: HouseholdImport, *, total_rows: int, at: datetime) -> None:
    """Mark the import running (first start or resume after a crash or failure)."""
    if job.status is not ImportStatus.RUNNING:
        job.move_to(ImportStatus.RUNNING)
    job.total_rows = total_rows
    job.failure_reason = None
    if job.started_at is None:
        job.started_at = at


def complete_import(job: HouseholdImport, *, at: datetime) -> None:
    job.move_to(ImportStatus.COMPLETED)
    job.total_rows = job.rows_done
    job.finished_at = at


def fail_import(job: HouseholdImport, *, reason: str, at: datetime) -> None:
    if job.status is not ImportStatus.FAILED:
        job.move_to(ImportStatus.FAILED)
    job.failure_reason = reason
    job.finished_at = at
