"""The demo's insurance accounts on both databases: the employer's agent is tied to its employer
once the employers exist, and running the demo's staff and reference steps again changes
nothing."""

from __future__ import annotations

from sqlalchemy import select

from socialcard.access.models import Staff
from socialcard.access.policy import load_policy
from socialcard.access.services import list_roles_of
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.demo.reference import create_reference_data
from socialcard.demo.staff import attach_employer_agents, create_demo_staff
from socialcard.registry.models import Employer


def test_the_employer_agent_is_tied_to_its_employer(platform: Platform) -> None:
    for expected in (1, 0):
        with platform.session() as session, transaction(session):
            at = platform.clock.now()
            create_demo_staff(session, load_policy(), platform.keys, at=at)
            create_reference_data(session, at=at, seed=7)
            assert attach_employer_agents(session) == expected
    with platform.session() as session:
        agent = session.scalars(select(Staff).where(Staff.username == "xiaoxiang_hr")).one()
        officer = session.scalars(select(Staff).where(Staff.username == "shebao_officer")).one()
        assert agent.employer_id is not None
        assert session.get_one(Employer, agent.employer_id).name == "永州潇湘电子科技有限公司"
        assert list_roles_of(session, agent.id) == {"employer_agent"}
        assert officer.employer_id is None
        assert officer.scope_region_code == "431100"
        assert list_roles_of(session, officer.id) == {"insurance_officer"}
