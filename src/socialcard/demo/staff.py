"""Demo staff accounts: one per kind of user, all with the same documented demo password.

The three administrators (三员: system, security, audit) each hold only their own role and get a
TOTP secret, which the demo shows so that someone can log in. The security administrator grants
the business roles, as in production. Running again adds nothing and keeps existing TOTP secrets.
An employer's agent is tied to its employer once the reference data (the employers) exist:
`attach_employer_agents`, called where the demo creates that data.
The demo password is public: never run the demo against a database that holds real people.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.models import Staff
from socialcard.access.policy import Policy, load_policy
from socialcard.access.services import (
    PreparedPassword,
    create_staff,
    enrol_totp,
    grant_role,
    list_roles_of,
    prepare_password,
)
from socialcard.bootstrap import Platform
from socialcard.demo.reference import EMPLOYERS, demo_credit_code
from socialcard.kernel.crypto import KeyRing
from socialcard.regions.data import CITY_CODE, REGIONS
from socialcard.registry.models import Employer

# At least 10 characters with letters and digits, as the password rules require.
DEMO_PASSWORD: Final = "Demo2026yz"


@dataclass(frozen=True, slots=True)
class DemoAccountPlan:
    """A demo login to open: who, with which role, in which department and scope."""

    username: str
    display_name: str
    role: str
    department_code: str
    scope_region_code: str
    employer: str | None = None  # an employer's agent: the name of its employer (EMPLOYERS)


# The security administrator comes first: it grants every other business role.
DEMO_ACCOUNTS: Final = (
    DemoAccountPlan("security_admin", "陈静", "security_admin", "data_center", CITY_CODE),
    DemoAccountPlan("system_admin", "王志强", "system_admin", "data_center", CITY_CODE),
    DemoAccountPlan("audit_admin", "刘芳", "audit_admin", "data_center", CITY_CODE),
    DemoAccountPlan("registry_officer", "蒋文华", "registry_officer", "data_center", CITY_CODE),
    DemoAccountPlan("daoxian_clerk", "何丽娟", "clerk", "hrss", "431124"),
    DemoAccountPlan("lingling_clerk", "唐海燕", "clerk", "hrss", "431102"),
    DemoAccountPlan(
        "department_staff", "周明", "department_staff", "healthcare_security", CITY_CODE
    ),
    DemoAccountPlan("leading_group", "李建军", "leading_group", "leading_group", CITY_CODE),
    DemoAccountPlan("medical_unit", "邓晓梅", "unit_officer", "healthcare_security", CITY_CODE),
    # Money, maker-checker: the agriculture bureau prepares the grain-subsidy lists, two finance
    # approvers check them (never their own), an auditor reads the books.
    DemoAccountPlan("nongye_officer", "蒋国平", "disbursement_officer", "agriculture", CITY_CODE),
    DemoAccountPlan(
        "minzheng_officer", "唐秀英", "disbursement_officer", "civil_affairs", CITY_CODE
    ),
    DemoAccountPlan("finance_approver", "李春华", "finance_approver", "finance", CITY_CODE),
    DemoAccountPlan("finance_reviewer", "王晓燕", "finance_approver", "finance", CITY_CODE),
    DemoAccountPlan("fund_auditor", "赵敏", "auditor", "finance", CITY_CODE),
    # Social insurance: the agency's officer, and the HR clerk of an employer who enrols and
    # declares for that employer only.
    DemoAccountPlan("shebao_officer", "蒋红梅", "insurance_officer", "hrss", CITY_CODE),
    DemoAccountPlan(
        "xiaoxiang_hr",
        "唐晓丽",
        "employer_agent",
        "hrss",
        CITY_CODE,
        employer="永州潇湘电子科技有限公司",
    ),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo login: what the demo prints so that people can try each role."""

    staff_id: int
    username: str
    display_name: str
    role: str
    department_code: str
    scope_region_code: str
    scope_name: str  # 永州市 or the county's name
    password: str
    totp_secret: str | None  # administrators only; feed it to an authenticator app


def _region_name(code: str) -> str:
    return next((seed.name for seed in REGIONS if seed.code == code), code)


def _account(plan: DemoAccountPlan, staff: Staff, totp_secret: str | None) -> DemoAccount:
    return DemoAccount(
        staff_id=staff.id,
        username=plan.username,
        display_name=staff.display_name,
        role=plan.role,
        department_code=plan.department_code,
        scope_region_code=staff.scope_region_code,
        scope_name=_region_name(staff.scope_region_code),
        password=DEMO_PASSWORD,
        totp_secret=totp_secret,
    )


class DemoPasswords:
    """The demo accounts' prepared passwords, each its own salted argon2 hash (a fifth of a
    second of CPU each), hashed on background threads from the moment this is made: argon2
    releases the GIL, so `serve --demo` starts it first and the hashing overlaps the loading of
    the web application and the migrations instead of holding up the demo."""

    def __init__(self, *, threads: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="demo-passwords")
        self._prepared = [self._pool.submit(prepare_password, DEMO_PASSWORD) for _ in DEMO_ACCOUNTS]

    def take(self, count: int) -> list[PreparedPassword]:
        """`count` prepared passwords (waiting for those still being hashed); the rest cancelled."""
        taken = [future.result() for future in self._prepared[:count]]
        self.close()
        return taken

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def create_demo_staff(
    session: Session,
    policy: Policy,
    keys: KeyRing,
    *,
    at: datetime,
    passwords: DemoPasswords | None = None,
) -> list[DemoAccount]:
    """Open the demo accounts that are missing, grant their roles and return all of them.
    `passwords`: hashing started earlier; by default it starts now, on every core."""
    existing = {
        s.username: s
        for s in session.scalars(
            select(Staff).where(Staff.username.in_([p.username for p in DEMO_ACCOUNTS]))
        )
    }
    missing = sum(1 for plan in DEMO_ACCOUNTS if plan.username not in existing)
    if passwords is None:
        passwords = DemoPasswords(threads=os.cpu_count() or 1)
    prepared = iter(passwords.take(missing))
    accounts: list[DemoAccount] = []
    granted_by: int | None = None
    for plan in DEMO_ACCOUNTS:
        staff = existing.get(plan.username)
        if staff is None:
            staff = create_staff(
                session,
                username=plan.username,
                display_name=plan.display_name,
                password=next(prepared),
                department_code=plan.department_code,
                scope_region_code=plan.scope_region_code,
                created_at=at,
            )
        # The first administrator role is granted by nobody (installation); the security
        # administrator grants every later one.
        grant_role(
            session,
            policy,
            staff_id=staff.id,
            role=plan.role,
            granted_by=granted_by,
            at=at,
        )
        if plan.role == "security_admin":
            granted_by = staff.id
        totp_secret: str | None = None
        if policy.roles[plan.role].is_administrator:
            if staff.totp_secret_cipher is None:
                totp_secret = enrol_totp(session, keys, staff_id=staff.id)
            else:
                totp_secret = keys.decrypt(staff.totp_secret_cipher)
        accounts.append(_account(plan, staff, totp_secret))
    session.flush()
    return accounts


def attach_employer_agents(session: Session) -> int:
    """Tie each demo employer's agent to its employer (found by its demo credit code); the
    employers are reference data made after the accounts. Returns how many were tied."""
    tied = 0
    for plan in DEMO_ACCOUNTS:
        if plan.employer is None:
            continue
        county, entity = next((c, e) for c, name, _i, e in EMPLOYERS if name == plan.employer)
        credit_code = demo_credit_code(entity, county, plan.employer)
        employer_id = session.scalars(
            select(Employer.id).where(Employer.credit_code == credit_code)
        ).first()
        staff = session.scalars(select(Staff).where(Staff.username == plan.username)).first()
        if employer_id is None or staff is None:
            continue
        if staff.employer_id != employer_id:
            staff.employer_id = employer_id
            tied += 1
    session.flush()
    return tied


def list_demo_accounts(platform: Platform) -> list[DemoAccount]:
    """The demo accounts present in the database, with the administrators' TOTP secrets."""
    policy = load_policy()
    accounts: list[DemoAccount] = []
    with platform.session() as session:
        for plan in DEMO_ACCOUNTS:
            staff = session.scalars(select(Staff).where(Staff.username == plan.username)).first()
            if staff is None or plan.role not in list_roles_of(session, staff.id):
                continue
            totp_secret: str | None = None
            if policy.roles[plan.role].is_administrator and staff.totp_secret_cipher is not None:
                totp_secret = platform.keys.decrypt(staff.totp_secret_cipher)
            accounts.append(_account(plan, staff, totp_secret))
    return accounts
