"""Where insurance money sits in the ledger: a pooled fund per scheme, a floored personal account
per person and scheme (pension individual account, employee medical personal account), and the
outside accounts money comes from (employers' transfers, the treasury's subsidies, other
regions). Codes are built by `socialcard.ledger.accounts` (STYLE §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from socialcard.insurance.schemes import SCHEMES, SchemeCode
from socialcard.ledger import accounts as codes
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide

EMPLOYER_TRANSFERS: Final = codes.external("employer_contributions")  # 单位缴费到账（收入户）
TREASURY_SUBSIDY: Final = codes.external("treasury_insurance_subsidy")  # 财政补助
OTHER_REGIONS: Final = codes.external("other_regions")  # 转入转出的外地经办机构


def pooled_fund(scheme: SchemeCode) -> str:
    return codes.pooled_fund(scheme.value)


def personal_account(person_id: int, scheme: SchemeCode) -> str | None:
    purpose = SCHEMES[scheme].account_purpose
    return None if purpose is None else codes.personal_account(person_id, purpose)


def ensure_fund_accounts(session: Session, *, at: datetime) -> None:
    """Open the pooled funds and the outside accounts (once; later calls find them). Reference
    data: ensure_reference_data runs it at start-up, and the services rely on the accounts."""
    for scheme in SCHEMES.values():
        ledger.open_account(
            session,
            pooled_fund(scheme.code),
            name=f"{scheme.name}统筹基金",
            normal_side=NormalSide.CREDIT,
            at=at,
        )
    for code, name in (
        (EMPLOYER_TRANSFERS, "单位缴费到账"),
        (TREASURY_SUBSIDY, "财政社会保险补助"),
        (OTHER_REGIONS, "异地经办机构（关系转移）"),
    ):
        ledger.open_account(session, code, name=name, normal_side=NormalSide.DEBIT, at=at)


def open_personal_account(
    session: Session, person_id: int, scheme: SchemeCode, *, at: datetime
) -> int | None:
    """The person's account in this scheme (floored: it can never go below zero), opened on
    first enrolment; None for a scheme without personal accounts."""
    code = personal_account(person_id, scheme)
    if code is None:
        return None
    account = ledger.open_account(
        session,
        code,
        name=f"{SCHEMES[scheme].name}个人账户",
        normal_side=NormalSide.CREDIT,
        has_floor=True,
        at=at,
    )
    return account.id
