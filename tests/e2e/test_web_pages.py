"""The staff web pages end to end: login and sessions, CSRF, scoped and masked person pages,
imports, staff administration, the audit log and regions, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from socialcard.access import services as access
from socialcard.access.audit import list_records
from socialcard.access.models import AuditRecord, AuditResult, Staff, WebSession
from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import NotAuthenticated
from socialcard.http.routes import list_route_templates
from socialcard.kernel.masking import mask_resident_id
from socialcard.kernel.resident_id import ResidentId, check_character
from socialcard.regions.models import Region
from socialcard.registry.household.importer import create_import
from socialcard.registry.household.rules import PersonRecord
from socialcard.registry.models import PersonStatus
from socialcard.registry.services import register_person
from socialcard.server import create_app
from tests.support import PASSWORD, StaffAccount, make_staff, write_household_file

DAO_COUNTY = "431124"  # 道县
LINGLING = "431102"  # 零陵区
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- helpers -------------------------------------------------------------------------------


def resident_id_for(county: str, birth: str, sequence: str) -> str:
    first17 = f"{county}{birth}{sequence}"
    return first17 + check_character(first17)


def make_resident(
    platform: Platform,
    *,
    county: str,
    name: str,
    birth: str = "19850315",
    sequence: str = "123",
    phone: str | None = "13807461234",
) -> tuple[int, str]:
    """Register a living resident of `county`; return the person id and the full ID number."""
    resident_id = resident_id_for(county, birth, sequence)
    record = PersonRecord(
        resident_id=ResidentId.parse(resident_id),
        name=name,
        ethnicity="汉族",
        household_region_code=county,
        household_address="永州市某县某镇某村 12 号",
        residence_county_code=county,
        residence_township="濂溪街道",
        residence_address="永州市某县某街道某路 88 号",
        phone=phone,
        status=PersonStatus.LIVING,
        status_changed_on=None,
    )
    with platform.session() as session, transaction(session):
        person = register_person(
            session, platform.keys, record, source="公安户籍", at=platform.clock.now()
        )
        return person.id, resident_id


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


def log_in(client: TestClient, platform: Platform, account: StaffAccount) -> None:
    response = client.post(
        "/login",
        data={
            "username": account.username,
            "password": account.password,
            "one_time_code": account.one_time_code(platform) or "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_token_of(html: str) -> str:
    found = CSRF_PATTERN.search(html)
    assert found is not None, "page has no csrf_token field"
    return found.group(1)


def csrf_token(client: TestClient, page: str = "/") -> str:
    return csrf_token_of(client.get(page).text)


def audit_records(platform: Platform, action: str) -> list[AuditRecord]:
    with platform.session() as session:
        return [r for r in list_records(session, limit=1000) if r.action == action]


def wait_for_import(client: TestClient, import_id: int) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress: dict[str, object] = client.get(f"/imports/{import_id}/progress").json()
        if progress["is_finished"]:
            return progress
        time.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish")


def tamper_with_first_audit_record(platform: Platform) -> None:
    """Change a record behind the append-only guard, as someone with database access could."""
    with platform.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_records_no_update"))
        connection.execute(text("UPDATE audit_records SET action = 'tampered' WHERE seq = 1"))
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only")
            )


# --- login, sessions, CSRF -----------------------------------------------------------------


def test_login_sets_an_http_only_same_site_cookie(platform: Platform, client: TestClient) -> None:
    account = make_staff(platform, "clerk1")

    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "clerk1", "password": PASSWORD, "next": "/persons"},
        follow_redirects=False,
    )

    assert form.status_code == 200
    assert "动态口令" in form.text
    assert response.status_code == 303
    assert response.headers["location"] == "/persons"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("sc_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert "path=/" in cookie.lower()
    home = client.get("/")
    assert home.status_code == 200
    assert "永州市社会保障卡（市民卡）综合应用平台" in home.text
    assert [r.result for r in audit_records(platform, "auth.login")] == [AuditResult.SUCCESS]
    assert audit_records(platform, "auth.login")[0].actor_id == account.staff_id


def test_login_refuses_a_foreign_next(platform: Platform, client: TestClient) -> None:
    make_staff(platform, "clerk1")

    response = client.post(
        "/login",
        data={"username": "clerk1", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/"


def test_wrong_password_gives_401_and_an_audit_record(
    platform: Platform, client: TestClient
) -> None:
    make_staff(platform, "clerk1")

    response = client.post("/login", data={"username": "clerk1", "password": "wrong-password-1"})

    assert response.status_code == 401
    assert "用户名、密码或动态口令不正确" in response.text
    assert "sc_session" not in response.headers.get("set-cookie", "")
    [record] = audit_records(platform, "auth.login")
    assert record.result is AuditResult.FAILURE
    assert record.details["username"] == "clerk1"
    with platform.session() as session:
        staff = session.scalars(select(Staff).where(Staff.username == "clerk1")).one()
        assert staff.failed_login_count == 1


def test_an_empty_login_form_is_not_an_attempt(platform: Platform, client: TestClient) -> None:
    make_staff(platform, "clerk1")

    response = client.post("/login", data={"username": "clerk1", "password": ""})

    assert response.status_code == 422
    assert "请输入用户名和密码" in response.text
    assert audit_records(platform, "auth.login") == []


def test_repeated_failures_lock_the_account(platform: Platform, client: TestClient) -> None:
    make_staff(platform, "clerk1")
    for _ in range(platform.settings.login_failures_before_lockout):
        client.post("/login", data={"username": "clerk1", "password": "wrong-password-1"})

    response = client.post("/login", data={"username": "clerk1", "password": PASSWORD})

    assert response.status_code == 401
    assert "账户已锁定" in response.text


def test_administrators_need_the_one_time_code(platform: Platform, client: TestClient) -> None:
    admin = make_staff(platform, "sysadmin", roles=("system_admin",))

    without_code = client.post("/login", data={"username": "sysadmin", "password": PASSWORD})
    with_code = client.post(
        "/login",
        data={
            "username": "sysadmin",
            "password": PASSWORD,
            "one_time_code": admin.one_time_code(platform),
        },
        follow_redirects=False,
    )

    assert without_code.status_code == 401
    assert with_code.status_code == 303


def test_pages_need_a_login_and_remember_where_to_go(client: TestClient) -> None:
    response = client.get("/persons", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/persons"
    assert 'name="next" value="/persons"' in client.get("/login?next=/persons").text


def test_post_without_csrf_token_is_refused(platform: Platform, client: TestClient) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))

    response = client.post("/persons/search", data={"name": "张三"})
    wrong = client.post("/persons/search", data={"name": "张三", "csrf_token": "forged"})

    assert response.status_code == 403
    assert "CSRF" in response.text
    assert wrong.status_code == 403
    denials = audit_records(platform, "access.denied")
    assert {r.details["code"] for r in denials} == {"csrf_rejected"}
    assert audit_records(platform, "person.search") == []


def test_logout_ends_the_session(platform: Platform, client: TestClient) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))
    old_cookie = client.cookies.get("sc_session")
    assert old_cookie

    response = client.post(
        "/logout", data={"csrf_token": csrf_token(client)}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "max-age=0" in response.headers["set-cookie"].lower()
    with platform.session() as session:
        [web_session] = session.scalars(select(WebSession)).all()
        assert web_session.ended_at is not None
    client.cookies.set("sc_session", old_cookie)
    again = client.get("/persons", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")
    assert [r.result for r in audit_records(platform, "auth.logout")] == [AuditResult.SUCCESS]


def _change_password(client: TestClient, **fields: str) -> httpx.Response:
    token = csrf_token(client, "/account/password")
    return client.post(
        "/account/password", data={"csrf_token": token, **fields}, follow_redirects=False
    )


def test_staff_change_their_own_password_and_every_session_ends(
    platform: Platform, client: TestClient
) -> None:
    account = make_staff(platform, "clerk1")
    log_in(client, platform, account)
    with TestClient(create_app(platform)) as elsewhere:  # the same account on another desk
        log_in(elsewhere, platform, account)
        assert elsewhere.get("/persons", follow_redirects=False).status_code == 200

        page = client.get("/account/password")
        response = _change_password(
            client,
            current_password=PASSWORD,
            new_password="New-secret-2026",
            confirm_password="New-secret-2026",
        )

        assert page.status_code == 200
        assert "修改密码" in page.text
        assert response.status_code == 303
        assert response.headers["location"] == "/login?notice=password_changed"
        for desk in (client, elsewhere):
            again = desk.get("/persons", follow_redirects=False)
            assert again.status_code == 303
            assert again.headers["location"].startswith("/login")
    old = client.post(
        "/login", data={"username": "clerk1", "password": PASSWORD}, follow_redirects=False
    )
    new = client.post(
        "/login", data={"username": "clerk1", "password": "New-secret-2026"}, follow_redirects=False
    )
    assert old.status_code == 401
    assert new.status_code == 303
    assert [r.result for r in audit_records(platform, "auth.password_changed")] == [
        AuditResult.SUCCESS
    ]
    assert audit_records(platform, "auth.password_changed")[0].actor_id == account.staff_id


@pytest.mark.parametrize(
    ("fields", "status", "field", "message"),
    [
        (
            {"current_password": "Wrong-pass-99", "new_password": "New-secret-2026",
             "confirm_password": "New-secret-2026"},
            401, "current_password", "当前密码不正确。",
        ),
        (
            {"current_password": PASSWORD, "new_password": "New-secret-2026",
             "confirm_password": "New-secret-2027"},
            422, "confirm_password", "两次输入的新密码不一致。",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short1",
             "confirm_password": "short1"},
            422, "new_password", "密码至少 10 位。",
        ),
        (
            {"current_password": PASSWORD, "new_password": "onlyletters",
             "confirm_password": "onlyletters"},
            422, "new_password", "密码须同时包含字母和数字。",
        ),
        (
            {"current_password": PASSWORD, "new_password": PASSWORD,
             "confirm_password": PASSWORD},
            422, "new_password", "新密码不能与当前密码相同。",
        ),
        (
            {"new_password": "New-secret-2026", "confirm_password": "New-secret-2026"},
            422, "current_password", "请输入当前密码。",
        ),
    ],
)  # fmt: skip
def test_a_refused_password_change_names_the_field_and_changes_nothing(
    platform: Platform,
    client: TestClient,
    fields: dict[str, str],
    status: int,
    field: str,
    message: str,
) -> None:
    account = make_staff(platform, "clerk1")
    log_in(client, platform, account)
    with platform.session() as session:
        before = session.get(Staff, account.staff_id)
        assert before is not None
        hash_before = before.password_hash

    response = _change_password(client, **fields)

    assert response.status_code == status
    html = response.text
    assert message in html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html), html
    assert client.get("/persons", follow_redirects=False).status_code == 200  # still logged in
    with platform.session() as session:
        after = session.get(Staff, account.staff_id)
        assert after is not None
        assert after.password_hash == hash_before
    changes = audit_records(platform, "auth.password_changed")
    if field == "current_password" and status == 401:
        assert [r.result for r in changes] == [AuditResult.FAILURE]
    else:
        assert changes == []


def test_guessing_the_current_password_locks_the_account_and_ends_the_session(
    platform: Platform, client: TestClient
) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))
    limit = platform.settings.login_failures_before_lockout
    guesses = [
        _change_password(
            client,
            current_password=f"Guess-{n}-pass",
            new_password="New-secret-2026",
            confirm_password="New-secret-2026",
        )
        for n in range(limit)
    ]

    assert {g.status_code for g in guesses} == {401}
    assert "当前密码不正确" in guesses[-1].text
    after = client.get("/persons", follow_redirects=False)  # the guessing session is over
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    login = client.post("/login", data={"username": "clerk1", "password": PASSWORD})
    assert login.status_code == 401
    assert "账户已锁定" in login.text
    codes = [r.details["code"] for r in audit_records(platform, "auth.password_changed")]
    assert codes == ["login_failed"] * limit


def test_concurrent_wrong_guesses_each_count(platform: Platform) -> None:
    """Guesses sent at once from one session all count: the account locks after as many as a
    sequence of guesses would need."""
    account = make_staff(platform, "clerk1")
    limit = platform.settings.login_failures_before_lockout
    barrier = threading.Barrier(limit)
    failures: list[str] = []

    def guess(n: int) -> None:
        barrier.wait(timeout=30)
        for attempt in range(20):
            try:
                with platform.session() as session, transaction(session):
                    try:
                        access.change_password(
                            session,
                            staff_id=account.staff_id,
                            current=f"Guess-{n}-pass",
                            new="New-secret-2026",
                            at=platform.clock.now(),
                            failures_before_lockout=limit,
                            lockout_minutes=15,
                        )
                    except NotAuthenticated as error:
                        failures.append(error.code)
                return
            except OperationalError:  # SQLite: the database is locked; try again
                time.sleep(0.05 * (attempt + 1))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(limit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == ["login_failed"] * limit
    with platform.session() as session:
        staff = session.get(Staff, account.staff_id)
        assert staff is not None
        assert staff.locked_until is not None


def test_malformed_input_gets_a_page_not_a_traceback(
    platform: Platform, client: TestClient
) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))

    response = client.get("/persons/not-a-number")

    assert response.status_code == 422
    assert "请求格式不正确" in response.text
    assert "person_id" in response.text


# --- persons -------------------------------------------------------------------------------


def test_county_clerk_sees_own_county_masked_and_is_refused_another(
    platform: Platform, client: TestClient
) -> None:
    dao_id, dao_resident_id = make_resident(platform, county=DAO_COUNTY, name="周敦颐")
    lingling_id, _ = make_resident(platform, county=LINGLING, name="柳宗元", sequence="246")
    log_in(client, platform, make_staff(platform, "daoclerk", scope=DAO_COUNTY))

    found = client.post(
        "/persons/search",
        data={"resident_id": dao_resident_id, "csrf_token": csrf_token(client, "/persons")},
    )
    detail = client.get(f"/persons/{dao_id}")
    refused = client.get(f"/persons/{lingling_id}")

    assert found.status_code == 200
    masked = mask_resident_id(dao_resident_id)
    assert re.fullmatch(r"431124\*{8}\d{3}[\dX]", masked)
    assert masked in found.text
    assert "周敦颐" in found.text
    assert dao_resident_id not in found.text
    assert detail.status_code == 200
    assert masked in detail.text
    assert dao_resident_id not in detail.text
    assert "138****1234" in detail.text
    assert "13807461234" not in detail.text
    assert refused.status_code == 403
    assert "该人员不在您的辖区范围内" in refused.text
    assert "柳宗元" not in refused.text
    [search] = audit_records(platform, "person.search")
    assert search.details == {"by": "resident_id", "found": 1}
    assert search.object_id == str(dao_id)
    [view] = audit_records(platform, "person.view")
    assert view.object_id == str(dao_id)
    assert view.result is AuditResult.SUCCESS
    [denied] = audit_records(platform, "access.denied")
    assert denied.object_type == "person"
    assert denied.object_id == str(lingling_id)
    assert denied.details["code"] == "out_of_scope"


def test_search_by_resident_id_of_another_county_is_refused(
    platform: Platform, client: TestClient
) -> None:
    _, lingling_resident_id = make_resident(platform, county=LINGLING, name="柳宗元")
    log_in(client, platform, make_staff(platform, "daoclerk", scope=DAO_COUNTY))

    response = client.post(
        "/persons/search",
        data={"resident_id": lingling_resident_id, "csrf_token": csrf_token(client, "/persons")},
    )

    assert response.status_code == 403
    assert lingling_resident_id not in response.text


def test_search_by_name_stays_in_scope_and_masks_for_department_staff(
    platform: Platform, client: TestClient
) -> None:
    make_resident(platform, county=DAO_COUNTY, name="周敦颐")
    make_resident(platform, county=LINGLING, name="周敦颐", sequence="357")
    log_in(
        client,
        platform,
        make_staff(platform, "dept1", roles=("department_staff",), scope=DAO_COUNTY),
    )

    response = client.post(
        "/persons/search", data={"name": "周敦颐", "csrf_token": csrf_token(client, "/persons")}
    )

    assert response.status_code == 200
    assert "共 1 人" in response.text
    assert "周**" in response.text
    assert "周敦颐" not in response.text.replace('value="周敦颐"', "")


def test_search_form_errors_are_shown_next_to_the_field(
    platform: Platform, client: TestClient
) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))
    token = csrf_token(client, "/persons")

    bad_id = client.post(
        "/persons/search", data={"resident_id": "43112419850315123", "csrf_token": token}
    )
    empty = client.post("/persons/search", data={"csrf_token": token})

    assert bad_id.status_code == 422
    assert "43112419850315123" not in bad_id.text
    assert 'id="resident_id-error"' in bad_id.text
    assert empty.status_code == 422
    assert "请输入公民身份号码" in empty.text


def test_reveal_shows_the_full_number_and_is_audited(
    platform: Platform, client: TestClient
) -> None:
    person_id, resident_id = make_resident(platform, county=DAO_COUNTY, name="周敦颐")
    log_in(client, platform, make_staff(platform, "officer", roles=("registry_officer",)))

    page = client.get(f"/persons/{person_id}")
    revealed = client.post(
        f"/persons/{person_id}/reveal", data={"csrf_token": csrf_token_of(page.text)}
    )

    assert "查看完整信息" in page.text
    assert revealed.status_code == 200
    assert resident_id in revealed.text
    assert "13807461234" in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    [record] = audit_records(platform, "person.reveal")
    assert record.object_id == str(person_id)


def test_clerks_cannot_reveal(platform: Platform, client: TestClient) -> None:
    person_id, _ = make_resident(platform, county=DAO_COUNTY, name="周敦颐")
    log_in(client, platform, make_staff(platform, "clerk1"))

    page = client.get(f"/persons/{person_id}")
    response = client.post(
        f"/persons/{person_id}/reveal", data={"csrf_token": csrf_token_of(page.text)}
    )

    assert "查看完整信息" not in page.text
    assert response.status_code == 403
    assert audit_records(platform, "person.reveal") == []


# --- imports -------------------------------------------------------------------------------


def test_import_runs_in_the_background_and_reports_rejections(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    good = resident_id_for(DAO_COUNTY, "19900101", "111")
    bad_check = resident_id_for(DAO_COUNTY, "19900202", "222")[:-1] + "0"
    if bad_check == resident_id_for(DAO_COUNTY, "19900202", "222"):
        bad_check = bad_check[:-1] + "1"
    path = write_household_file(
        tmp_path,
        [
            f"{good},周敦颐,男,汉族,{DAO_COUNTY},濂溪街道,道县某路 1 号,13807461234,正常",
            f"{bad_check},柳宗元,男,汉族,{DAO_COUNTY},濂溪街道,,,正常",
        ],
    )
    log_in(client, platform, make_staff(platform, "officer", roles=("registry_officer",)))
    token = csrf_token(client, "/imports")

    with path.open("rb") as handle:
        response = client.post(
            "/imports",
            data={"csrf_token": token, "encoding": ""},
            files={"file": ("户籍.csv", handle, "text/csv")},
            follow_redirects=False,
        )
    assert response.status_code == 303
    import_id = int(response.headers["location"].rsplit("/", 1)[1])
    progress = wait_for_import(client, import_id)
    page = client.get(f"/imports/{import_id}")
    csv_report = client.get(f"/imports/{import_id}/rejections.csv")
    xlsx_report = client.get(f"/imports/{import_id}/rejections.xlsx")

    assert progress["status"] == "completed"
    assert progress["summary"] == "accepted=1 updated=0 unchanged=0 rejected=1"
    assert "accepted=1 updated=0 unchanged=0 rejected=1" in page.text
    assert "已完成" in page.text
    assert "公民身份号码校验码错误" in page.text
    assert "bad_check_character" in page.text
    assert f"/imports/{import_id}/rejections.csv" in page.text
    assert csv_report.status_code == 200
    assert csv_report.headers["content-type"].startswith("text/csv")
    assert "公民身份号码校验码错误" in csv_report.content.decode("utf-8-sig")
    assert xlsx_report.content[:2] == b"PK"
    [upload] = audit_records(platform, "import.upload")
    assert upload.object_id == str(import_id)
    assert len(audit_records(platform, "import.rejections_export")) == 2
    listing = client.get("/imports")
    assert "户籍.csv" in listing.text


def test_import_of_an_unsupported_file_is_refused_on_the_form(
    platform: Platform, client: TestClient
) -> None:
    log_in(client, platform, make_staff(platform, "officer", roles=("registry_officer",)))

    response = client.post(
        "/imports",
        data={"csrf_token": csrf_token(client, "/imports")},
        files={"file": ("notes.pdf", b"%PDF-1.4", "application/pdf")},
    )

    assert response.status_code == 409
    assert "只支持 .csv 和 .xlsx 文件" in response.text


# --- staff administration ------------------------------------------------------------------


def test_system_admin_creates_and_disables_staff(platform: Platform, client: TestClient) -> None:
    log_in(client, platform, make_staff(platform, "sysadmin", roles=("system_admin",)))
    token = csrf_token(client, "/admin/staff")
    form = {
        "csrf_token": token,
        "username": "newclerk",
        "display_name": "新经办",
        "department_code": "hrss",
        "scope_region_code": DAO_COUNTY,
    }

    weak = client.post("/admin/staff", data={**form, "password": "short1"})
    created = client.post(
        "/admin/staff", data={**form, "password": "Long-enough-42"}, follow_redirects=False
    )
    taken = client.post("/admin/staff", data={**form, "password": "Long-enough-42"})

    assert weak.status_code == 422
    assert "密码至少 10 位" in weak.text
    assert 'value="newclerk"' in weak.text
    assert created.status_code == 303
    assert taken.status_code == 409
    assert "已被使用" in taken.text
    with platform.session() as session:
        staff = session.scalars(select(Staff).where(Staff.username == "newclerk")).one()
    listing = client.get("/admin/staff")
    assert "新经办" in listing.text
    assert "道县" in listing.text
    disabled = client.post(
        f"/admin/staff/{staff.id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert disabled.status_code == 303
    assert "已停用" in client.get("/admin/staff").text
    assert [r.object_id for r in audit_records(platform, "staff.create")] == [str(staff.id)]
    assert [r.object_id for r in audit_records(platform, "staff.disable")] == [str(staff.id)]


def test_pages_escape_what_people_typed(platform: Platform, client: TestClient) -> None:
    with platform.session() as session, transaction(session):
        access.create_staff(
            session,
            username="mallory",
            display_name="<script>alert(1)</script>",
            password=PASSWORD,
            department_code="hrss",
            scope_region_code="431100",
            created_at=platform.clock.now(),
        )
    log_in(client, platform, make_staff(platform, "sysadmin", roles=("system_admin",)))

    listing = client.get("/admin/staff").text

    assert "<script>alert(1)</script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing


def test_security_admin_grants_roles_and_incompatible_grants_are_refused(
    platform: Platform, client: TestClient
) -> None:
    clerk = make_staff(platform, "clerk1", roles=())
    log_in(client, platform, make_staff(platform, "secadmin", roles=("security_admin",)))
    token = csrf_token(client, "/admin/roles")

    granted = client.post(
        f"/admin/staff/{clerk.staff_id}/roles",
        data={"csrf_token": token, "role": "clerk"},
        follow_redirects=False,
    )
    refused = client.post(
        f"/admin/staff/{clerk.staff_id}/roles",
        data={"csrf_token": token, "role": "audit_admin"},
    )

    assert granted.status_code == 303
    assert refused.status_code == 403
    assert "三员分立" in refused.text
    with platform.session() as session:
        assert access.list_roles_of(session, clerk.staff_id) == frozenset({"clerk"})
    [grant] = audit_records(platform, "staff.grant_role")
    assert grant.details == {"role": "clerk"}
    assert [r.details["code"] for r in audit_records(platform, "access.denied")] == [
        "roles_incompatible"
    ]


def test_clerks_cannot_open_staff_administration(platform: Platform, client: TestClient) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))

    response = client.get("/admin/staff")

    assert response.status_code == 403
    assert "无权访问" in response.text


# --- audit log and regions -----------------------------------------------------------------


def test_audit_page_verifies_the_chain_and_is_audited(
    platform: Platform, client: TestClient
) -> None:
    make_staff(platform, "clerk1")
    client.post("/login", data={"username": "clerk1", "password": "wrong-password-1"})
    log_in(client, platform, make_staff(platform, "auditor", roles=("audit_admin",)))

    response = client.get("/audit")

    assert response.status_code == 200
    assert re.search(r"审计链完整，共 \d+ 条", response.text)
    assert "auth.login" in response.text
    assert "失败" in response.text
    assert len(audit_records(platform, "audit.view")) == 1


def test_audit_page_shows_a_broken_chain(platform: Platform, client: TestClient) -> None:
    make_staff(platform, "clerk1")
    client.post("/login", data={"username": "clerk1", "password": "wrong-password-1"})
    tamper_with_first_audit_record(platform)
    log_in(client, platform, make_staff(platform, "auditor", roles=("audit_admin",)))

    response = client.get("/audit")

    assert response.status_code == 200
    assert "审计链已被破坏：第 1 条记录起不可信" in response.text
    assert "记录内容被修改" in response.text


def test_regions_page_draws_the_populations(platform: Platform, client: TestClient) -> None:
    log_in(client, platform, make_staff(platform, "leader", roles=("leading_group",)))

    response = client.get("/regions")

    assert response.status_code == 200
    assert "<svg" in response.text
    assert response.text.count('class="bar') >= 11
    assert "江华瑶族自治县" in response.text
    assert "832,813" in response.text
    assert "/regions/431124/population" not in response.text


def test_system_admin_corrects_a_population_with_a_source(
    platform: Platform, client: TestClient
) -> None:
    log_in(client, platform, make_staff(platform, "sysadmin", roles=("system_admin",)))
    page = client.get("/regions")
    token = csrf_token_of(page.text)

    missing_source = client.post(
        "/regions/431127/population", data={"csrf_token": token, "population": "360000"}
    )
    corrected = client.post(
        "/regions/431127/population",
        data={"csrf_token": token, "population": "360,123", "source": "蓝山县统计公报（2021）"},
        follow_redirects=False,
    )

    assert "/regions/431127/population" in page.text
    assert missing_source.status_code == 422
    assert "请注明人口数据来源" in missing_source.text
    assert corrected.status_code == 303
    with platform.session() as session:
        region = session.get(Region, "431127")
        assert region is not None
        assert region.population == 360_123
        assert region.population_source == "蓝山县统计公报（2021）"
    [record] = audit_records(platform, "region.population_set")
    assert record.object_id == "431127"
    assert record.details == {"population": 360_123}


# --- every page ----------------------------------------------------------------------------

PAGES: list[tuple[str, tuple[str, ...] | None]] = [
    ("/login", None),
    ("/portal", None),
    ("/kiosk", None),
    ("/", ("clerk",)),
    ("/counter", ("clerk",)),
    ("/console", ("department_staff",)),
    ("/dashboard", ("leading_group",)),
    ("/persons", ("clerk",)),
    ("/persons/{person_id}", ("clerk",)),
    ("/imports", ("registry_officer",)),
    ("/imports/{import_id}", ("registry_officer",)),
    ("/imports/{import_id}/progress", ("registry_officer",)),
    ("/regions", ("leading_group",)),
    ("/admin/staff", ("system_admin",)),
    ("/admin/roles", ("security_admin",)),
    ("/audit", ("audit_admin",)),
    ("/", ("system_admin",)),
    ("/", ("security_admin",)),
    ("/", ("audit_admin",)),
    ("/", ("leading_group",)),
]


@pytest.mark.parametrize(("page", "roles"), PAGES)
def test_every_page_renders_for_a_role_allowed_to_see_it(
    platform: Platform, client: TestClient, page: str, roles: tuple[str, ...] | None
) -> None:
    person_id, _ = make_resident(platform, county=DAO_COUNTY, name="周敦颐")
    import_id = 0
    if roles is not None:
        log_in(client, platform, make_staff(platform, "staff1", roles=roles))
    if "{import_id}" in page:
        with platform.session() as session, transaction(session):
            stored = platform.settings.data_dir / "empty.csv"
            stored.write_text("公民身份号码,姓名,户籍地区划\n", encoding="utf-8")
            import_id = create_import(
                session,
                file_name="empty.csv",
                stored_path=stored,
                encoding=None,
                created_by=None,
                at=platform.clock.now(),
            ).id

    response = client.get(page.format(person_id=person_id, import_id=import_id))

    assert response.status_code == 200, response.text
    if not page.endswith("/progress"):
        assert "永州市社会保障卡（市民卡）综合应用平台" in response.text
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert "http://" not in response.text
        assert "https://" not in response.text


def test_navigation_follows_the_policy(platform: Platform, client: TestClient) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))

    home = client.get("/").text

    assert 'href="/persons"' in home
    assert 'href="/counter"' in home
    assert 'href="/imports"' not in home
    assert 'href="/audit"' not in home
    assert 'href="/dashboard"' not in home


def test_static_assets_are_served_by_the_package(client: TestClient) -> None:
    css = client.get("/static/site.css")
    script = client.get("/static/progress.js")

    assert css.status_code == 200
    assert "font-family" in css.text
    assert "@import" not in css.text
    assert "url(http" not in css.text
    assert script.status_code == 200


def test_web_routes_are_exactly_the_policy_web_routes(platform: Platform) -> None:
    served = {
        key
        for key in list_route_templates(create_app(platform))
        if not key[1].startswith("/api/") and key[1] not in ("/healthz", "/readyz")
    }
    listed = {
        key
        for key in load_policy().routes
        if not key[1].startswith("/api/") and key[1] not in ("/healthz", "/readyz")
    }

    assert served == listed
