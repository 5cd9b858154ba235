"""An employer's agent opened from the operator CLI: tied to the employer named by its credit
code, which must be registered."""

from __future__ import annotations

from sqlalchemy import select

from socialcard.access.models import Staff
from socialcard.bootstrap import Platform
from socialcard.demo.reference import COMPANY, demo_credit_code
from tests.e2e.test_cli import cli_env, invoke
from tests.insurance_support import employer

__all__ = ["cli_env"]


def test_an_employer_agent_is_created_for_a_registered_employer(
    platform: Platform, cli_env: dict[str, str]
) -> None:
    firm = employer(platform)
    credit_code = demo_credit_code(COMPANY, "431103", "永州潇湘电子科技有限公司")
    base = ["users", "create", "--name", "唐晓丽", "--password", "Counter-2026-ok"]
    code, out, _ = invoke(cli_env, *base, "xiaoxiang_hr", "--employer", credit_code.lower())
    assert code == 0, out
    assert f"for employer {credit_code.lower()}" in out
    assert invoke(cli_env, "users", "grant", "xiaoxiang_hr", "employer_agent")[0] == 0
    code, _, err = invoke(cli_env, *base, "nobody_hr", "--employer", "91431103MA4L000000")
    assert code == 1
    assert "error[invalid_field]" in err
    with platform.session() as session:
        agents = {
            s.username: s.employer_id
            for s in session.scalars(select(Staff).where(Staff.username.endswith("_hr")))
        }
    assert agents == {"xiaoxiang_hr": firm}
