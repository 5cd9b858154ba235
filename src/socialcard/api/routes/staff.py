"""Staff administration: the system administrator creates and disables accounts, the security
administrator grants roles (三员分立)."""

from __future__ import annotations

from socialcard.access import services as access
from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult, Staff
from socialcard.access.policy import load_policy
from socialcard.api.routes import api_router
from socialcard.api.schemas import MeOut, RoleGrantIn, StaffIn, StaffOut
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.regions.queries import get_region

router = api_router("", "staff")


def _out(session: DbSession, staff: Staff) -> StaffOut:
    return StaffOut(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        department_id=staff.department_id,
        scope_region_code=staff.scope_region_code,
        is_disabled=staff.is_disabled,
        roles=sorted(access.list_roles_of(session, staff.id)),
    )


@router.get("/me", response_model=MeOut)
def me(ctx: Context) -> MeOut:
    p = ctx.require_principal()
    return MeOut(
        staff_id=p.staff_id,
        username=p.username,
        display_name=p.display_name,
        roles=sorted(p.roles),
        department_code=p.department_code,
        scope_region_code=p.scope_region_code,
        masking=p.masking.value,
    )


@router.get("/staff", response_model=list[StaffOut])
def list_staff(session: DbSession) -> list[StaffOut]:
    return [_out(session, s) for s in access.list_staff(session)]


@router.post("/staff", response_model=StaffOut, status_code=201)
def create_staff(
    body: StaffIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> StaffOut:
    with transaction(session):
        get_region(session, body.scope_region_code)
        staff = access.create_staff(
            session,
            username=body.username,
            display_name=body.display_name,
            password=body.password,
            department_code=body.department_code,
            scope_region_code=body.scope_region_code,
            created_at=platform.clock.now(),
        )
        append_audit(
            session,
            ctx.event("staff.create", AuditResult.SUCCESS, object_type="staff", object_id=staff.id),
            at=platform.clock.now(),
        )
        out = _out(session, staff)
    return out


@router.post("/staff/{staff_id}/disable", response_model=StaffOut)
def disable_staff(
    staff_id: int, ctx: Context, session: DbSession, platform: PlatformDep
) -> StaffOut:
    with transaction(session):
        staff = access.disable_staff(session, staff_id=staff_id, at=platform.clock.now())
        append_audit(
            session,
            ctx.event(
                "staff.disable", AuditResult.SUCCESS, object_type="staff", object_id=staff.id
            ),
            at=platform.clock.now(),
        )
        out = _out(session, staff)
    return out


@router.post("/staff/{staff_id}/roles", response_model=StaffOut)
def grant_role(
    staff_id: int, body: RoleGrantIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> StaffOut:
    principal = ctx.require_principal()
    with transaction(session):
        access.grant_role(
            session,
            load_policy(),
            staff_id=staff_id,
            role=body.role,
            granted_by=principal.staff_id,
            at=platform.clock.now(),
        )
        append_audit(
            session,
            ctx.event(
                "staff.grant_role",
                AuditResult.SUCCESS,
                object_type="staff",
                object_id=staff_id,
                details={"role": body.role},
            ),
            at=platform.clock.now(),
        )
        out = _out(session, access.get_staff(session, staff_id))
    return out
