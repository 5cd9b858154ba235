"""Money fixtures: the programmes, a funded grain-subsidy budget, and officers."""

from __future__ import annotations

import pytest

from socialcard.bootstrap import Platform
from socialcard.cards.models import PARTNER_BANKS
from socialcard.db import transaction
from socialcard.disbursement.programmes import ensure_programmes, fund_programme
from socialcard.disbursement.services import Officer
from socialcard.kernel.money import Money

PREPARER = Officer(staff_id=None, department_code="finance")
FARMING = Officer(staff_id=None, department_code="agriculture")


@pytest.fixture
def money(platform: Platform) -> Platform:
    """The platform with every programme and the grain subsidy (I107) funded with ¥1,000,000."""
    with platform.session() as session, transaction(session):
        ensure_programmes(session, bank_codes=sorted(PARTNER_BANKS), at=platform.clock.now())
        fund_programme(
            session,
            "I107",
            amount=Money(100_000_000),
            reference="2026-budget",
            at=platform.clock.now(),
        )
    return platform
