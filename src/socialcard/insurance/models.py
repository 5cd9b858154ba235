"""Social insurance tables: versioned contribution rules, enrolments, declarations, contribution
records (one row per person and month for the employee schemes, one per person, year and scheme
for the resident schemes), the pension account's yearly settlement, relation transfers and the
documents printed with a verification code.

A contribution month carries every employee scheme's parts in columns (the five schemes are fixed
by the Social Insurance Law): a person's ten years are 120 rows, which is what the self-service
query reads (PERFORMANCE W4).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, JSONType, UTCDateTime, enum_type
from socialcard.insurance.errors import TransitionNotAllowed
from socialcard.insurance.schemes import SchemeCode, SchemeFamily

_ID = BigInteger().with_variant(Integer, "sqlite")

CITY_REGION: Final = "431100"  # 永州市: where local contributions are paid


class ContributionRule(Base):
    """One version of a scheme's contribution parameters, in force from `effective_from` until
    the next version of the same scheme. Loaded by operators; the shipped ones are examples."""

    __tablename__ = "contribution_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[SchemeCode] = mapped_column(enum_type(SchemeCode, "scheme_code", length=20))
    effective_from: Mapped[date] = mapped_column(Date)
    # Monthly base limits (employee schemes); 0 for resident schemes.
    base_floor_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    base_ceiling_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    employer_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    individual_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    account_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    flexible_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    # Resident schemes: [[amount_minor, subsidy_minor], …] a year, lowest first.
    tiers: Mapped[list[list[int]]] = mapped_column(JSONType, default=list)
    is_example: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("scheme", "effective_from", name="uq_contribution_rules_version"),
        CheckConstraint("base_ceiling_minor >= base_floor_minor", name="base_range"),
        CheckConstraint(
            "employer_rate_bp >= 0 AND individual_rate_bp >= 0 AND account_rate_bp >= 0 "
            "AND flexible_rate_bp >= 0",
            name="rates_not_negative",
        ),
    )


class InterestRate(Base):
    """The pension individual account's crediting rate of a year (记账利率), published yearly."""

    __tablename__ = "pension_interest_rates"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rate_bp: Mapped[int] = mapped_column(Integer)
    is_example: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EnrolmentKind(StrEnum):
    EMPLOYEE = "employee"  # enrolled by an employer
    FLEXIBLE = "flexible"  # 灵活就业: enrolled in the employee schemes by themselves
    RESIDENT = "resident"  # 城乡居民


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"  # 参保缴费
    SUSPENDED = "suspended"  # 暂停缴费 (left the employer, stopped paying); may resume
    TERMINATED = "terminated"  # 终止参保 (transferred out, died, moved to another scheme)


ENROLMENT_TRANSITIONS: Final[Mapping[EnrolmentStatus, frozenset[EnrolmentStatus]]] = {
    EnrolmentStatus.ACTIVE: frozenset({EnrolmentStatus.SUSPENDED, EnrolmentStatus.TERMINATED}),
    EnrolmentStatus.SUSPENDED: frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.TERMINATED}),
    EnrolmentStatus.TERMINATED: frozenset(),
}


class Enrolment(Base):
    """A person in one scheme. At most one open (not terminated) enrolment per scheme family."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    scheme: Mapped[SchemeCode] = mapped_column(enum_type(SchemeCode, "scheme_code", length=20))
    family: Mapped[SchemeFamily] = mapped_column(
        enum_type(SchemeFamily, "scheme_family", length=16)
    )
    kind: Mapped[EnrolmentKind] = mapped_column(
        enum_type(EnrolmentKind, "enrolment_kind", length=10)
    )
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        enum_type(EnrolmentStatus, "enrolment_status", length=12)
    )
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(100))
    # The declared monthly wage (employee schemes) or the chosen yearly grade (resident pension).
    wage_minor: Mapped[int | None] = mapped_column(BigInteger)
    # The personal account of this scheme in the ledger, when the scheme has one.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_accounts.id"))
    channel: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(
            "ux_enrolments_open_family",
            "person_id",
            "family",
            unique=True,
            postgresql_where=text("status <> 'terminated'"),
            sqlite_where=text("status <> 'terminated'"),
        ),
        Index("ix_enrolments_person", "person_id", "id"),
        Index("ix_enrolments_employer", "employer_id", "status"),
    )

    def move_to(self, target: EnrolmentStatus) -> None:
        if target not in ENROLMENT_TRANSITIONS[self.status]:
            raise TransitionNotAllowed("enrolment", str(self.id), self.status.value, target.value)
        self.status = target


class DeclarationKind(StrEnum):
    EMPLOYER = "employer"  # an employer's month for its employees
    FLEXIBLE = "flexible"  # a flexible worker's own month(s)
    BACK_PAYMENT = "back_payment"  # 补缴: months missed, declared late by the employer


class DeclarationStatus(StrEnum):
    DECLARED = "declared"  # 已申报，待缴费: the months are arrears until paid
    PAID = "paid"  # 已缴费: the funds and personal accounts are credited
    CANCELLED = "cancelled"  # withdrawn before payment; its months are gone


DECLARATION_TRANSITIONS: Final[Mapping[DeclarationStatus, frozenset[DeclarationStatus]]] = {
    DeclarationStatus.DECLARED: frozenset({DeclarationStatus.PAID, DeclarationStatus.CANCELLED}),
    DeclarationStatus.PAID: frozenset(),
    DeclarationStatus.CANCELLED: frozenset(),
}


class Declaration(Base):
    """A contribution declaration (缴费申报): one payer, one month (or a run of months for a
    back-payment or a flexible worker paying ahead), paid as a whole."""

    __tablename__ = "contribution_declarations"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    declaration_no: Mapped[str] = mapped_column(String(20), unique=True)  # SB202611000001
    kind: Mapped[DeclarationKind] = mapped_column(
        enum_type(DeclarationKind, "declaration_kind", length=14)
    )
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))  # flexible worker
    first_period: Mapped[int] = mapped_column(Integer)
    last_period: Mapped[int] = mapped_column(Integer)
    status: Mapped[DeclarationStatus] = mapped_column(
        enum_type(DeclarationStatus, "declaration_status", length=10)
    )
    persons: Mapped[int] = mapped_column(Integer, default=0)
    months: Mapped[int] = mapped_column(Integer, default=0)
    employer_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    individual_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_order_no: Mapped[str | None] = mapped_column(String(20))
    bank_reference: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(12))
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        # One regular declaration per employer and month; back-payments may be several.
        Index(
            "ux_declarations_employer_month",
            "employer_id",
            "first_period",
            unique=True,
            postgresql_where=text("kind = 'employer' AND status <> 'cancelled'"),
            sqlite_where=text("kind = 'employer' AND status <> 'cancelled'"),
        ),
        Index("ix_declarations_employer", "employer_id", "first_period"),
        Index("ix_declarations_person", "person_id", "first_period"),
        CheckConstraint("last_period >= first_period", name="period_range"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def move_to(self, target: DeclarationStatus) -> None:
        if target not in DECLARATION_TRANSITIONS[self.status]:
            raise TransitionNotAllowed(
                "declaration", self.declaration_no, self.status.value, target.value
            )
        self.status = target


class MonthSource(StrEnum):
    DECLARED = "declared"  # declared here, by an employer or a flexible worker
    BACK_PAYMENT = "back_payment"  # 补缴
    MIGRATED = "migrated"  # carried over from the legacy core system, already paid
    TRANSFERRED_IN = "transferred_in"  # paid elsewhere, merged by a relation transfer in


class MonthStatus(StrEnum):
    DUE = "due"  # declared, not paid yet: arrears (欠费) once the month is over
    PAID = "paid"
    TRANSFERRED_OUT = "transferred_out"  # the relation moved elsewhere with this month
    CANCELLED = "cancelled"  # its declaration was withdrawn before payment; never counted


class ContributionMonth(Base):
    """One person's contributions for one month, every employee scheme in its own columns."""

    __tablename__ = "contribution_months"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    period: Mapped[int] = mapped_column(Integer)  # yyyymm, 费款所属期
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("contribution_declarations.id"))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    kind: Mapped[EnrolmentKind] = mapped_column(
        enum_type(EnrolmentKind, "enrolment_kind", length=10)
    )
    source: Mapped[MonthSource] = mapped_column(enum_type(MonthSource, "month_source", length=16))
    region_code: Mapped[str] = mapped_column(String(6))  # where it was paid (431100 = here)
    base_minor: Mapped[int] = mapped_column(BigInteger)
    pension_employer_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    pension_individual_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    medical_employer_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    medical_individual_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    unemployment_employer_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    unemployment_individual_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    work_injury_employer_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    maternity_employer_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Credited to the personal accounts when paid (part of the parts above).
    pension_account_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    medical_account_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Bit set of the schemes this month counts for: 1 pension, 2 medical, 4 unemployment,
    # 8 work injury, 16 maternity (a month can count with a zero part, e.g. maternity merged).
    schemes_mask: Mapped[int] = mapped_column(Integer)
    status: Mapped[MonthStatus] = mapped_column(enum_type(MonthStatus, "month_status", length=16))
    paid_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        # One month per person: the history the self-service query reads, in period order.
        Index(
            "ux_contribution_months_person_period",
            "person_id",
            "period",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
            sqlite_where=text("status <> 'cancelled'"),
        ),
        Index("ix_contribution_months_declaration", "declaration_id"),
        CheckConstraint("base_minor >= 0", name="base_not_negative"),
    )


class ResidentContribution(Base):
    """A resident scheme's contribution for one year, paid by the person or a family member."""

    __tablename__ = "resident_contributions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    scheme: Mapped[SchemeCode] = mapped_column(enum_type(SchemeCode, "scheme_code", length=20))
    year: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    subsidy_minor: Mapped[int] = mapped_column(BigInteger)
    payer_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    payment_order_no: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[MonthSource] = mapped_column(enum_type(MonthSource, "month_source", length=16))
    region_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[MonthStatus] = mapped_column(enum_type(MonthStatus, "month_status", length=16))
    paid_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(
            "ux_resident_contributions_year",
            "person_id",
            "scheme",
            "year",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
            sqlite_where=text("status <> 'cancelled'"),
        ),
        Index("ix_resident_contributions_order", "payment_order_no"),
        CheckConstraint("amount_minor > 0 AND subsidy_minor >= 0", name="amounts"),
    )


class PensionAccountYear(Base):
    """The pension individual account's settlement of one year (what the rights statement
    prints): opening, credited, interest, transferred in or out, closing."""

    __tablename__ = "pension_account_years"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    scheme: Mapped[SchemeCode] = mapped_column(
        enum_type(SchemeCode, "scheme_code", length=20), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    opening_minor: Mapped[int] = mapped_column(BigInteger)
    credited_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    transferred_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # + in, − out
    closing_minor: Mapped[int] = mapped_column(BigInteger)
    rate_bp: Mapped[int] = mapped_column(Integer)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "closing_minor = opening_minor + credited_minor + interest_minor + transferred_minor",
            name="closing_sum",
        ),
    )


class TransferDirection(StrEnum):
    OUT = "out"  # 转出: the relation moves to another region
    IN = "in"  # 转入: history paid elsewhere is merged here


class InsuranceTransfer(Base):
    """A relation transfer (社会保险关系转移, item 24), with the card recorded as credential."""

    __tablename__ = "insurance_transfers"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    transfer_no: Mapped[str] = mapped_column(String(20), unique=True)  # ZY202611000001
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    direction: Mapped[TransferDirection] = mapped_column(
        enum_type(TransferDirection, "transfer_direction", length=4)
    )
    region_code: Mapped[str] = mapped_column(String(6))  # the other region
    region_name: Mapped[str] = mapped_column(String(60))
    schemes: Mapped[list[str]] = mapped_column(JSONType)
    first_period: Mapped[int | None] = mapped_column(Integer)
    last_period: Mapped[int | None] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    pension_account_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    medical_account_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    channel: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The data file (what was sent, or what arrived), SM4-encrypted: it holds the ID number.
    # Kept so the file can be downloaded again; None for transfers made before it was kept.
    data_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_insurance_transfers_person", "person_id", "id"),)


class DocumentKind(StrEnum):
    CONTRIBUTION_CERTIFICATE = "contribution_certificate"  # 参保缴费凭证 (item 27)
    RIGHTS_STATEMENT = "rights_statement"  # 个人权益记录单 (item 28)
    TRANSFER_CERTIFICATE = "transfer_certificate"  # 参保缴费凭证（转移）(item 24)


class InsuranceDocument(Base):
    """A printed document and what it said, so anyone holding the paper can check it: the
    verification code finds this row, whose `figures` are shown (name masked) beside a digest."""

    __tablename__ = "insurance_documents"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    document_no: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_type(DocumentKind, "document_kind", length=24))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    figures: Mapped[dict[str, object]] = mapped_column(JSONType)
    content_digest: Mapped[str] = mapped_column(String(64))  # SM3 of the figures, canonical JSON
    channel: Mapped[str] = mapped_column(String(12))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_insurance_documents_person", "person_id", "id"),)
