"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from socialcard.http.persons import PersonView


class PersonSearch(BaseModel):
    """Search by ID number (exact, through the blind index), by name (+ birth date), or county."""

    resident_id: str | None = Field(default=None, description="18 位公民身份号码（或 15 位旧号码）")
    name: str | None = None
    birth_on: date | None = None
    county_code: str | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class PersonPage(BaseModel):
    total: int
    items: list[PersonView]


class RegionOut(BaseModel):
    code: str
    name: str
    kind: str
    host_code: str | None
    current_code: str | None
    population: int | None
    population_source: str | None


class PopulationIn(BaseModel):
    population: int = Field(ge=0)
    source: str = Field(min_length=1, max_length=200)


class ImportOut(BaseModel):
    id: int
    file_name: str
    status: str
    total_rows: int | None
    rows_done: int
    accepted: int
    updated: int
    unchanged: int
    rejected: int
    failure_reason: str | None
    created_at: datetime
    finished_at: datetime | None
    summary: str


class StaffIn(BaseModel):
    username: str = Field(min_length=2, max_length=40)
    display_name: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=200)
    department_code: str
    scope_region_code: str = "431100"


class StaffOut(BaseModel):
    id: int
    username: str
    display_name: str
    department_id: int
    scope_region_code: str
    is_disabled: bool
    roles: list[str]


class RoleGrantIn(BaseModel):
    role: str


class MeOut(BaseModel):
    staff_id: int
    username: str
    display_name: str
    roles: list[str]
    department_code: str
    scope_region_code: str
    masking: str


class AuditOut(BaseModel):
    seq: int
    occurred_at: datetime
    actor_username: str | None
    actor_roles: str | None
    department_code: str | None
    action: str
    object_type: str | None
    object_id: str | None
    result: str
    origin: str | None
    request_id: str | None
    details: dict[str, object]


class VerificationOut(BaseModel):
    records_checked: int
    is_intact: bool
    first_bad_seq: int | None
    problem: str | None
