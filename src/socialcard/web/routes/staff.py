"""Staff administration (三员分立): the system administrator opens and disables accounts, the
security administrator grants roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access import services as access
from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult, Staff
from socialcard.access.policy import Role, load_policy
from socialcard.db import transaction
from socialcard.errors import DomainError, InvalidField, PermissionDenied
from socialcard.http.context import Context, DbSession, PlatformDep, audit_refusal
from socialcard.regions.models import Region
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.labels import role_names
from socialcard.web.populations import population_rows
from socialcard.web.rendering import render_page

router = APIRouter()

# Domain field names that differ from the form's field names.
FIELD_ALIASES = {"department": "department_code"}


@dataclass(frozen=True, slots=True)
class StaffRow:
    staff: Staff
    department_name: str
    scope_name: str
    roles: frozenset[str]
    role_names: list[str]


@dataclass(frozen=True, slots=True)
class NewStaff:
    """What the create form keeps when it comes back with an error (never the password)."""

    username: str = ""
    display_name: str = ""
    department_code: str = ""
    scope_region_code: str = ""


def _scopes(session: Session) -> list[Region]:
    """The scopes an account may have: the whole city or one county."""
    return population_rows(session)


def _staff_rows(session: Session, scopes: list[Region]) -> list[StaffRow]:
    departments = {d.id: d.name for d in access.list_departments(session)}
    scope_names = {region.code: region.name for region in scopes}
    rows = []
    for staff in access.list_staff(session):
        roles = access.list_roles_of(session, staff.id)
        rows.append(
            StaffRow(
                staff=staff,
                department_name=departments.get(staff.department_id, ""),
                scope_name=scope_names.get(staff.scope_region_code, staff.scope_region_code),
                roles=roles,
                role_names=role_names(roles),
            )
        )
    return rows


def _render_staff(
    request: Request,
    session: Session,
    *,
    new_staff: NewStaff | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    scopes = _scopes(session)
    return render_page(
        request,
        "admin/staff.html",
        status_code=status_code,
        rows=_staff_rows(session, scopes),
        departments=access.list_departments(session),
        scopes=scopes,
        new_staff=new_staff or NewStaff(),
        errors=errors or FormErrors(),
    )


@router.get("/admin/staff")
def staff_page(request: Request, ctx: Context, session: DbSession) -> Response:
    ctx.require_principal()
    return _render_staff(request, session)


@router.post("/admin/staff")
def create_staff(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=50)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    department_code: Annotated[str, Form(max_length=40)] = "",
    scope_region_code: Annotated[str, Form(max_length=6)] = "",
) -> Response:
    """Open an account without roles (the security administrator grants them)."""
    ctx.require_principal()
    new_staff = NewStaff(username, display_name, department_code, scope_region_code)
    try:
        if scope_region_code not in {region.code for region in _scopes(session)}:
            raise InvalidField("scope_region_code", "known_scope", "请选择全市或一个县区作为辖区。")
        with transaction(session):
            staff = access.create_staff(
                session,
                username=username,
                display_name=display_name,
                password=password,
                department_code=department_code,
                scope_region_code=scope_region_code,
                created_at=platform.clock.now(),
            )
            append_audit(
                session,
                ctx.event(
                    "staff.create", AuditResult.SUCCESS, object_type="staff", object_id=staff.id
                ),
                at=platform.clock.now(),
            )
    except DomainError as error:
        if isinstance(error, PermissionDenied):
            audit_refusal(platform, request, error)
        errors = FormErrors.of(error, aliases=FIELD_ALIASES)
        return _render_staff(
            request, session, new_staff=new_staff, errors=errors, status_code=errors.status_code
        )
    return see_other("/admin/staff?notice=staff_created")


@router.post("/admin/staff/{staff_id}/disable")
def disable_staff(
    staff_id: int, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """Disable an account; its sessions and API tokens end at once."""
    ctx.require_principal()
    with transaction(session):
        staff = access.disable_staff(session, staff_id=staff_id, at=platform.clock.now())
        append_audit(
            session,
            ctx.event(
                "staff.disable", AuditResult.SUCCESS, object_type="staff", object_id=staff.id
            ),
            at=platform.clock.now(),
        )
    return see_other("/admin/staff?notice=staff_disabled")


def _grantable_roles() -> list[Role]:
    return list(load_policy().roles.values())


def _render_roles(
    request: Request, session: Session, *, errors: FormErrors | None = None, status_code: int = 200
) -> Response:
    return render_page(
        request,
        "admin/roles.html",
        status_code=status_code,
        rows=_staff_rows(session, _scopes(session)),
        roles=_grantable_roles(),
        errors=errors or FormErrors(),
    )


@router.get("/admin/roles")
def roles_page(request: Request, ctx: Context, session: DbSession) -> Response:
    ctx.require_principal()
    return _render_roles(request, session)


@router.post("/admin/staff/{staff_id}/roles")
def grant_role(
    staff_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    role: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Grant a role from the policy; administrators hold exactly one role, nobody grants
    themselves. The grantee's sessions end so the new rights start with a new login."""
    principal = ctx.require_principal()
    try:
        with transaction(session):
            access.grant_role(
                session,
                load_policy(),
                staff_id=staff_id,
                role=role,
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
                    details={"role": role},
                ),
                at=platform.clock.now(),
            )
    except (InvalidField, PermissionDenied) as error:
        if isinstance(error, PermissionDenied):
            audit_refusal(platform, request, error)
        errors = FormErrors(general=error.message, status_code=FormErrors.of(error).status_code)
        return _render_roles(request, session, errors=errors, status_code=errors.status_code)
    return see_other("/admin/roles?notice=role_granted")
