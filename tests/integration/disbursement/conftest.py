"""Money fixtures: the programmes, a funded grain-subsidy budget, and officers."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.disbursement.runner import agency_account
from socialcard.disbursement.services import Officer
from tests.money_support import fund_grain_subsidy

FARMING = Officer(staff_id=None, department_code="agriculture")
# The partner banks of the runs' cardholders.
BANKS = ("ICBC", "CCB")


@pytest.fixture
def money(platform: Platform) -> Platform:
    """The platform with every programme and the grain subsidy (I107) funded with ¥1,000,000."""
    fund_grain_subsidy(platform)
    return platform


@pytest.fixture
def bank(tmp_path: Path) -> SandboxBank:
    """A strict sandbox bank: it never deduplicates and counts every execution."""
    sandbox = SandboxBank(tmp_path / "bank.sqlite3", strict=True)
    for code in BANKS:
        sandbox.open_agency_account(code, agency_account(code), "永州市财政局")
    return sandbox
