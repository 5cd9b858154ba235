"""Money fixtures: the programmes, a funded grain-subsidy budget, and officers."""

from __future__ import annotations

import pytest

from socialcard.bootstrap import Platform
from socialcard.disbursement.services import Officer
from tests.money_support import fund_grain_subsidy

FARMING = Officer(staff_id=None, department_code="agriculture")


@pytest.fixture
def money(platform: Platform) -> Platform:
    """The platform with every programme and the grain subsidy (I107) funded with ¥1,000,000."""
    fund_grain_subsidy(platform)
    return platform
