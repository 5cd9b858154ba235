"""Registry tables: persons and their history, employers, institutions, imports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, JSONType, UTCDateTime, enum_type
from socialcard.errors import Conflict
from socialcard.kernel.resident_id import Sex


class PersonStatus(StrEnum):
    """A resident's status in the registry."""

    LIVING = "living"  # alive and registered here
    DECEASED = "deceased"  # death recorded by public security or civil affairs; terminal
    MOVED_AWAY = "moved_away"  # household moved out of Yongzhou; may come back


PERSON_TRANSITIONS: Final = {
    PersonStatus.LIVING: frozenset({PersonStatus.DECEASED, PersonStatus.MOVED_AWAY}),
    PersonStatus.MOVED_AWAY: frozenset({PersonStatus.LIVING, PersonStatus.DECEASED}),
    PersonStatus.DECEASED: frozenset[PersonStatus](),
}


class PersonStatusNotAllowed(Conflict):
    code = "person_status_transition_not_allowed"

    def __init__(self, person_id: int | None, source: PersonStatus, target: PersonStatus) -> None:
        super().__init__(
            f"人员状态不能从“{source.value}”变为“{target.value}”。",
            person_id=person_id,
            source_status=source.value,
            target_status=target.value,
        )


class Person(Base):
    """A resident known to the platform. The ID number is never stored in clear."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    resident_id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    # Unique, which refuses a second person with the same ID number; PostgreSQL also finds a
    # person by it through a hash index, about twice as fast (migration 0025).
    resident_id_index: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[Sex] = mapped_column(enum_type(Sex, "sex", length=24))
    birth_on: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    origin_code: Mapped[str] = mapped_column(String(6))
    is_from_yongzhou: Mapped[bool]
    household_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    household_address: Mapped[str | None] = mapped_column(String(200))
    # The current county that serves the person (scope checks use it): the residence county
    # when the register gives one, else the household region resolved to its current county.
    residence_county_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    residence_township: Mapped[str | None] = mapped_column(String(60))
    residence_address: Mapped[str | None] = mapped_column(String(200))
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[PersonStatus] = mapped_column(
        enum_type(PersonStatus, "person_status", length=24)
    )
    status_changed_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))
    # SM3 of the normalised fields: an import compares it to tell "unchanged" from "updated".
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("household_imports.id"))
    last_import_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_persons_county_name", "residence_county_code", "name"),
        Index("ix_persons_name_birth", "name", "birth_on"),
    )

    def move_to_status(self, target: PersonStatus, *, on: date | None) -> None:
        if target is self.status:
            return
        if target not in PERSON_TRANSITIONS[self.status]:
            raise PersonStatusNotAllowed(self.id, self.status, target)
        self.status = target
        self.status_changed_on = on


class PersonVersion(Base):
    """One row per change of a person: what the fields were before, and why it changed."""

    __tablename__ = "person_versions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(40))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("household_imports.id"))
    changed_fields: Mapped[list[str]] = mapped_column(JSONType)
    # Previous values of the changed fields; identifiers appear masked only.
    previous: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (Index("ix_person_versions_person", "person_id", "version"),)


class InstitutionKind(StrEnum):
    """Kinds of partner institutions held as reference data."""

    HOSPITAL = "hospital"  # designated hospital (定点医疗机构)
    PHARMACY = "pharmacy"  # designated pharmacy (定点零售药店)
    BANK = "bank"  # partner bank (合作银行) branch or head office
    TRAINING = "training"  # vocational training body
    APPRAISAL = "appraisal"  # skill appraisal body


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    county_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    industry: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[InstitutionKind] = mapped_column(
        enum_type(InstitutionKind, "institution_kind", length=24)
    )
    level: Mapped[int | None] = mapped_column(Integer)
    county_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImportStatus(StrEnum):
    """Where a household-register import is."""

    PENDING = "pending"  # file stored, nothing read yet
    RUNNING = "running"  # rows are being read; committed chunk by chunk
    COMPLETED = "completed"  # every row accepted, updated, unchanged or rejected
    FAILED = "failed"  # stopped by an unreadable file; may be resumed after a fix


IMPORT_TRANSITIONS: Final = {
    ImportStatus.PENDING: frozenset({ImportStatus.RUNNING, ImportStatus.FAILED}),
    ImportStatus.RUNNING: frozenset({ImportStatus.COMPLETED, ImportStatus.FAILED}),
    ImportStatus.FAILED: frozenset({ImportStatus.RUNNING}),
    ImportStatus.COMPLETED: frozenset[ImportStatus](),
}


class ImportStatusNotAllowed(Conflict):
    code = "import_status_transition_not_allowed"

    def __init__(self, import_id: int, source: ImportStatus, target: ImportStatus) -> None:
        super().__init__(
            f"导入任务 {import_id} 不能从“{source.value}”变为“{target.value}”。",
            import_id=import_id,
            source_status=source.value,
            target_status=target.value,
        )


class HouseholdImport(Base):
    """One import of a household-register file; the cursor makes it resumable."""

    __tablename__ = "household_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    file_digest: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[ImportStatus] = mapped_column(
        enum_type(ImportStatus, "import_status", length=24)
    )
    total_rows: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def move_to(self, target: ImportStatus) -> None:
        if target not in IMPORT_TRANSITIONS[self.status]:
            raise ImportStatusNotAllowed(self.id, self.status, target)
        self.status = target

    @property
    def summary(self) -> str:
        return (
            f"accepted={self.accepted} updated={self.updated} "
            f"unchanged={self.unchanged} rejected={self.rejected}"
        )


class ImportRejection(Base):
    """A row of an import that was refused, with the field, the rule and the reason."""

    __tablename__ = "import_rejections"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("household_imports.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
    # The offending row with identifiers masked, so the report can be shared.
    row_masked: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (Index("ix_import_rejections_import_row", "import_id", "row_number"),)
