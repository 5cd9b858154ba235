"""Resident contributions (城乡居民养老、医疗, item 30): a yearly grade paid from a card's bank
account, for oneself or a family member, with the government's subsidy added when paid.

The entry point raises the payment order for the payer's card and pays it (the collection service
sits above this area), then settles the contribution with the money the order collected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.errors import InvalidField
from socialcard.insurance.accounts import (
    TREASURY_SUBSIDY,
    personal_account,
    pooled_fund,
)
from socialcard.insurance.errors import (
    NotEnrolled,
    PaymentMismatch,
    ResidentContributionExists,
    TierInvalid,
)
from socialcard.insurance.models import (
    CITY_REGION,
    Enrolment,
    EnrolmentStatus,
    MonthSource,
    MonthStatus,
    ResidentContribution,
)
from socialcard.insurance.parameters import get_rule, tiers_of
from socialcard.insurance.rules import tier_for
from socialcard.insurance.schemes import RESIDENT_SCHEMES, SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.money import Money
from socialcard.ledger import services as ledger
from socialcard.ledger.models import TransferKind
from socialcard.registry.queries import get_person

NEXT_YEAR_FROM_MONTH: Final = 9  # the next year's resident medical contribution opens in September


def _check_year(scheme: SchemeCode, year: int, at: datetime) -> None:
    today = at.astimezone(SHANGHAI).date()
    if year == today.year:
        return
    if year == today.year + 1 and today.month >= NEXT_YEAR_FROM_MONTH:
        return
    raise InvalidField(
        "year",
        "collection_period",
        f"只能缴纳 {today.year} 年度"
        + (f"或 {today.year + 1} 年度" if today.month >= NEXT_YEAR_FROM_MONTH else "")
        + f"的{SCHEMES[scheme].name}费。",
    )


def order_resident_contribution(
    session: Session,
    *,
    person_id: int,
    payer_person_id: int,
    scheme: SchemeCode,
    year: int,
    amount_minor: int | None,
    at: datetime,
) -> ResidentContribution:
    """The year's contribution to be paid (or the one already waiting for payment): the grade
    asked for (resident pension; the grade on record by default) or the year's single amount
    (resident medical). Refused when the year is paid already."""
    if scheme not in RESIDENT_SCHEMES:
        raise InvalidField("scheme", "resident_scheme", "只有城乡居民险种按年度个人缴费。")
    _check_year(scheme, year, at)
    get_person(session, payer_person_id)
    enrolment = session.scalars(
        select(Enrolment).where(
            Enrolment.person_id == person_id,
            Enrolment.scheme == scheme,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
    ).first()
    if enrolment is None:
        raise NotEnrolled(SCHEMES[scheme].name)
    tiers = tiers_of(get_rule(session, scheme, year * 100 + 1))
    if amount_minor is None:
        amount_minor = enrolment.wage_minor if scheme is SchemeCode.PENSION_RESIDENT else None
        amount_minor = amount_minor or tiers[0].amount_minor
    tier = tier_for(tiers, amount_minor)
    if tier is None:
        raise TierInvalid(SCHEMES[scheme].name, amount_minor, [t.amount_minor for t in tiers])
    existing = session.scalars(
        select(ResidentContribution)
        .where(
            ResidentContribution.person_id == person_id,
            ResidentContribution.scheme == scheme,
            ResidentContribution.year == year,
            ResidentContribution.status != MonthStatus.CANCELLED,
        )
        .with_for_update()
    ).first()
    if existing is not None:
        if existing.status is not MonthStatus.DUE:
            raise ResidentContributionExists(SCHEMES[scheme].name, year)
        existing.amount_minor = tier.amount_minor
        existing.subsidy_minor = tier.subsidy_minor
        existing.payer_person_id = payer_person_id
        return existing
    contribution = ResidentContribution(
        person_id=person_id,
        scheme=scheme,
        year=year,
        amount_minor=tier.amount_minor,
        subsidy_minor=tier.subsidy_minor,
        payer_person_id=payer_person_id,
        source=MonthSource.DECLARED,
        region_code=CITY_REGION,
        status=MonthStatus.DUE,
        created_at=at,
    )
    session.add(contribution)
    session.flush()
    return contribution


def get_resident_contribution_for_update(
    session: Session, contribution_id: int
) -> ResidentContribution:
    found = session.get(ResidentContribution, contribution_id, with_for_update=True)
    if found is None:
        raise InvalidField("contribution_id", "known", f"没有居民缴费记录 {contribution_id}。")
    return found


def attach_resident_order(
    session: Session, contribution_id: int, order_no: str
) -> ResidentContribution:
    contribution = get_resident_contribution_for_update(session, contribution_id)
    if contribution.status is not MonthStatus.DUE:
        raise ResidentContributionExists(SCHEMES[contribution.scheme].name, contribution.year)
    contribution.payment_order_no = order_no
    return contribution


def settle_resident_contribution(
    session: Session,
    contribution_id: int,
    *,
    source_account: str,
    paid_minor: int,
    at: datetime,
) -> ResidentContribution:
    """Paid: the pension grade and its subsidy go to the person's pension account, the medical
    contribution and its subsidy to the pooled fund. Settling again changes nothing."""
    contribution = get_resident_contribution_for_update(session, contribution_id)
    if contribution.status is MonthStatus.PAID:
        return contribution
    if contribution.status is not MonthStatus.DUE:
        raise ResidentContributionExists(SCHEMES[contribution.scheme].name, contribution.year)
    if paid_minor != contribution.amount_minor:
        raise PaymentMismatch(f"JM{contribution.id}", contribution.amount_minor, paid_minor)
    target = personal_account(contribution.person_id, contribution.scheme) or pooled_fund(
        contribution.scheme
    )
    journal = f"jm:{contribution.id}"
    reference = f"resident_contribution:{contribution.id}"
    paid = TransferKind.CONTRIBUTION_RECEIVED
    moves = (
        (source_account, contribution.amount_minor, paid, "pay"),
        (TREASURY_SUBSIDY, contribution.subsidy_minor, TransferKind.SUBSIDY_RECEIVED, "sub"),
    )
    for debit, amount, kind, suffix in moves:
        if amount > 0:
            ledger.post_transfer(
                session,
                ledger.TransferRequest(
                    transfer_key=f"{journal}:{suffix}",
                    debit_account=debit,
                    credit_account=target,
                    amount=Money(amount),
                    kind=kind,
                    reference=reference,
                    journal_key=journal,
                ),
                at=at,
            )
    contribution.status = MonthStatus.PAID
    contribution.paid_on = at.astimezone(SHANGHAI).date()
    return contribution


def find_resident_by_order(session: Session, order_no: str) -> ResidentContribution | None:
    return session.scalars(
        select(ResidentContribution).where(ResidentContribution.payment_order_no == order_no)
    ).first()
