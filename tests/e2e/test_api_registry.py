"""The API as department systems use it: the 道县 clerk scenario, masking, problems, imports."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from socialcard.access.audit import list_records, verify_chain
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.kernel.resident_id import check_character
from tests.support import add_person, api_client, make_staff, write_household_file


def rid(address: str, birth: str, sequence: int) -> str:
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + check_character(first17)


CREDIT_CODE = "91431100MA4L0ABC0Y"
DAOXIAN_ID = rid("431124", "19850312", 121)
LINGLING_ID = rid("431102", "19920704", 222)


def test_a_daoxian_clerk_sees_daoxian_residents_masked_and_not_lingling(platform: Platform) -> None:
    daoxian = add_person(platform, DAOXIAN_ID, name="周道明", county="431124")
    lingling = add_person(platform, LINGLING_ID, name="陈零陵", county="431102")
    clerk = make_staff(platform, "daoxian_clerk", roles=("clerk",), scope="431124")
    client = api_client(platform, clerk)

    found = client.post("/api/v1/persons/search", json={"resident_id": DAOXIAN_ID.lower()})
    assert found.status_code == 200
    body = found.json()
    assert body["total"] == 1
    person = body["items"][0]
    assert person["id"] == daoxian
    assert person["resident_id"] == f"431124********{DAOXIAN_ID[-4:]}"
    assert person["phone"] == "138****5678"
    assert DAOXIAN_ID not in found.text

    detail = client.get(f"/api/v1/persons/{daoxian}")
    assert detail.status_code == 200
    assert detail.json()["name"] == "周道明"

    denied = client.get(f"/api/v1/persons/{lingling}")
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert denied.json()["code"] == "out_of_scope"
    by_number = client.post("/api/v1/persons/search", json={"resident_id": LINGLING_ID})
    assert by_number.status_code == 403
    assert LINGLING_ID not in by_number.text

    with platform.session() as session:
        records = list_records(session, limit=50)
        views = [r for r in records if r.action == "person.view" and r.object_id == str(daoxian)]
        denials = [
            r for r in records if r.action == "access.denied" and r.object_id == str(lingling)
        ]
        assert len(views) == 1
        assert views[0].actor_username == "daoxian_clerk"
        assert len(denials) == 2
        assert all(r.result.value == "denied" for r in denials)
        assert all(r.request_id and r.department_code == "hrss" for r in views + denials)
        assert verify_chain(session).is_intact
        for record in records:
            assert DAOXIAN_ID not in str(record.details)
            assert LINGLING_ID not in str(record.details)


def test_a_city_registry_officer_may_reveal_and_the_reveal_is_audited(platform: Platform) -> None:
    person_id = add_person(platform, DAOXIAN_ID, name="周道明", county="431124")
    officer = make_staff(platform, "officer", roles=("registry_officer",))
    client = api_client(platform, officer)
    revealed = client.post(f"/api/v1/persons/{person_id}/reveal")
    assert revealed.status_code == 200
    assert revealed.json()["resident_id"] == DAOXIAN_ID
    assert revealed.json()["is_revealed"]
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    assert clerk.post(f"/api/v1/persons/{person_id}/reveal").status_code == 403
    with platform.session() as session:
        actions = [r.action for r in list_records(session, limit=20)]
    assert "person.reveal" in actions


def test_department_staff_see_names_masked(platform: Platform) -> None:
    person_id = add_person(platform, DAOXIAN_ID, name="周道明", county="431124")
    staff = api_client(platform, make_staff(platform, "dept", roles=("department_staff",)))
    body = staff.get(f"/api/v1/persons/{person_id}").json()
    assert body["name"] == "周**"
    assert body["birth_on"] is None


def test_bad_input_is_a_problem_naming_the_field_and_rule(platform: Platform) -> None:
    client = api_client(platform, make_staff(platform, "clerk"))
    broken = DAOXIAN_ID[:17] + ("0" if DAOXIAN_ID[17] != "0" else "1")
    response = client.post("/api/v1/persons/search", json={"resident_id": broken})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_resident_id"
    assert problem["field"] == "resident_id"
    assert problem["rule"] == "check_character"
    assert broken not in response.text
    invalid = client.post("/api/v1/persons/search", json={"limit": 0})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "limit"


def test_requests_without_a_valid_token_are_refused(platform: Platform) -> None:
    client = api_client(platform)
    assert client.get("/api/v1/persons/1").status_code == 401
    client.headers["Authorization"] = "Bearer sc_not-a-token"
    assert client.get("/api/v1/persons/1").status_code == 401


def test_import_upload_runs_in_the_background_and_reports(
    platform: Platform, tmp_path: Path
) -> None:
    officer = api_client(platform, make_staff(platform, "officer", roles=("registry_officer",)))
    wrong = DAOXIAN_ID[:17] + ("0" if DAOXIAN_ID[17] != "0" else "1")
    path = write_household_file(
        tmp_path,
        [
            f"{DAOXIAN_ID},周道明,男,汉族,431124,,,,正常",
            f"{wrong},错号码,男,汉族,431124,,,,正常",
        ],
    )
    with path.open("rb") as handle:
        response = officer.post("/api/v1/imports", files={"file": ("户籍.csv", handle, "text/csv")})
    assert response.status_code == 202
    import_id = response.json()["id"]
    for _ in range(100):
        status = officer.get(f"/api/v1/imports/{import_id}").json()
        if status["status"] == "completed":
            break
        time.sleep(0.05)
    assert status["summary"] == "accepted=1 updated=0 unchanged=0 rejected=1"
    report = officer.get(f"/api/v1/imports/{import_id}/rejections.csv")
    assert report.status_code == 200
    assert "bad_check_character" in report.text
    assert wrong not in report.text
    xlsx = officer.get(f"/api/v1/imports/{import_id}/rejections.xlsx")
    assert xlsx.content[:2] == b"PK"
    assert officer.get(f"/api/v1/imports/{import_id}/rejections.pdf").status_code == 422


def test_health_and_readiness(platform: Platform) -> None:
    client = api_client(platform)
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert client.get("/api/v1/openapi.json").json()["info"]["title"].startswith("永州市")


def test_reference_data_lists_institutions_by_kind_and_county(platform: Platform) -> None:
    from socialcard.registry.models import InstitutionKind
    from socialcard.registry.services import register_employer, register_institution

    with platform.session() as session, transaction(session):
        register_institution(
            session,
            code="H431124001",
            name="道县人民医院",
            kind=InstitutionKind.HOSPITAL,
            level=2,
            county_code="431124",
            at=platform.clock.now(),
        )
        register_institution(
            session,
            code="P431102001",
            name="零陵区某药店",
            kind=InstitutionKind.PHARMACY,
            level=None,
            county_code="431102",
            at=platform.clock.now(),
        )
        register_employer(
            session,
            credit_code=CREDIT_CODE,
            name="永州市某某制造有限公司",
            county_code="431103",
            industry="制造业",
            at=platform.clock.now(),
        )
        with pytest.raises(InvalidField) as caught:
            register_employer(
                session,
                credit_code=CREDIT_CODE[:-1] + "0",
                name="坏代码",
                county_code=None,
                industry=None,
                at=platform.clock.now(),
            )
        assert caught.value.field == "credit_code"
    client = api_client(platform, make_staff(platform, "clerk"))
    hospitals = client.get("/api/v1/institutions", params={"kind": "hospital"}).json()
    assert [(h["name"], h["level"]) for h in hospitals] == [("道县人民医院", 2)]
    assert len(client.get("/api/v1/institutions", params={"county_code": "431102"}).json()) == 1
    assert client.get("/api/v1/institutions", params={"kind": "spaceport"}).status_code == 422
    employers = client.get("/api/v1/employers").json()
    assert [e["credit_code"] for e in employers] == [CREDIT_CODE]


def test_unknown_paths_are_404_problems_for_the_api_and_pages_for_people(
    platform: Platform,
) -> None:
    client = api_client(platform)
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["code"] == "not_found"
    page = client.get("/nothing-here")
    assert page.status_code == 404
    assert "页面不存在" in page.text


def test_every_answer_carries_its_request_id_and_the_log_names_only_the_route(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    client = api_client(platform, make_staff(platform, "clerk"))
    number = "43112419900101123" + check_character("43112419900101123")
    person_id = add_person(platform, number, name="李四", county="431124")
    caplog.set_level("INFO", logger="socialcard.access_log")
    given = client.get(f"/api/v1/persons/{person_id}", headers={"X-Request-Id": "rid-given-1"})
    made = client.get(f"/api/v1/persons/{person_id}")
    assert given.headers["X-Request-Id"] == "rid-given-1"
    assert len(made.headers["X-Request-Id"]) == 32
    assert made.headers["X-Content-Type-Options"] == "nosniff"
    assert made.headers["X-Frame-Options"] == "DENY"
    lines = [r.getMessage() for r in caplog.records if r.name == "socialcard.access_log"]
    assert any(
        line.startswith("GET /api/v1/persons/{person_id} 200 ") and "rid=rid-given-1" in line
        for line in lines
    ), lines
    assert {line.split(" ")[1] for line in lines} == {"/api/v1/persons/{person_id}"}
