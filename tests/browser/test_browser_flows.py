"""Staff flows in a real headless Chromium against the app served by uvicorn, on SQLite and
PostgreSQL: login → search by ID number → masked person page; upload a messy household file →
the progress page reaches 已完成 → download the rejection report. Screenshots go to
test-artifacts/screenshots/<test>-<backend>.png."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from socialcard.access.audit import Actor
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.jobs.household_import import start_in_background
from socialcard.kernel.masking import mask_resident_id
from socialcard.kernel.resident_id import ResidentId, check_character
from socialcard.registry.household.importer import create_import
from socialcard.registry.household.rules import PersonRecord
from socialcard.registry.models import PersonStatus
from socialcard.registry.services import register_person
from socialcard.server import create_app
from tests.support import PASSWORD, StaffAccount, make_staff, write_household_file

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DAO_COUNTY = "431124"  # 道县
TIMEOUT_MS = 20_000
REFUSED_FORM = re.compile(
    r"^Failed to load resource: the server responded with a status of (401|422) "
)


def resident_id_for(county: str, birth: str, sequence: str) -> str:
    first17 = f"{county}{birth}{sequence}"
    return first17 + check_character(first17)


def full_width(text: str) -> str:
    """The same digits as a clerk pasting from Word might send them."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium not installed at {CHROMIUM}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: browser tests must run)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a background thread."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(platform),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        ws="none",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose page fails the test on script errors."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A refused form comes back as its page with 401 or 422, by design; Chromium logs the
        # status of that document as an error. Anything else is a problem.
        if message.type == "error" and not REFUSED_FORM.search(message.text):
            problems.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert problems == [], f"browser reported errors: {problems}"


def screenshot(page: Page, request: pytest.FixtureRequest, platform: Platform) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.originalname
    path = SCREENSHOTS / f"{name}-{platform.engine.dialect.name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, platform: Platform, account: StaffAccount) -> None:
    """Fill the login form the page is showing and submit it."""
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.fill("#username", account.username)
    page.fill("#password", PASSWORD)
    code = account.one_time_code(platform)
    if code:
        page.fill("#one_time_code", code)
    page.click("button:has-text('登录')")


# --- flows ---------------------------------------------------------------------------------


def test_login_search_by_resident_id_and_open_the_masked_person(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    resident_id = resident_id_for(DAO_COUNTY, "19850315", "123")
    record = PersonRecord(
        resident_id=ResidentId.parse(resident_id),
        name="周敦颐",
        ethnicity="汉族",
        household_region_code=DAO_COUNTY,
        household_address="道县清塘镇楼田村 8 号",
        residence_county_code=DAO_COUNTY,
        residence_township="濂溪街道",
        residence_address="道县濂溪街道濂溪路 18 号",
        phone="13807461234",
        status=PersonStatus.LIVING,
        status_changed_on=None,
    )
    with platform.session() as session, transaction(session):
        register_person(session, platform.keys, record, source="公安户籍", at=platform.clock.now())
    clerk = make_staff(platform, "daoclerk", scope=DAO_COUNTY)
    masked = mask_resident_id(resident_id)

    page.goto("/persons")
    assert "/login?next=/persons" in page.url
    log_in(page, platform, clerk)
    expect(page.get_by_role("heading", name="人员查询")).to_be_visible()
    assert page.url.endswith("/persons")

    page.fill("#resident_id", resident_id)
    page.click("button:has-text('查询')")
    results = page.locator("table.data-table")
    expect(results).to_contain_text(masked)
    expect(results).to_contain_text("周敦颐")
    assert resident_id not in page.url
    assert resident_id not in page.content()

    page.click("a:has-text('查看')")
    expect(page.get_by_role("heading", name="基本信息")).to_be_visible()
    expect(page.locator("dl.facts").first).to_contain_text(masked)
    expect(page.locator("dl.facts").first).to_contain_text("138****1234")
    content = page.content()
    assert resident_id not in content
    assert "13807461234" not in content
    assert "濂溪路 18 号" not in content
    screenshot(page, request, platform)


def test_import_a_messy_file_watch_it_finish_and_download_the_rejections(
    platform: Platform, page: Page, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    accepted = [
        f"{resident_id_for(DAO_COUNTY, '19900101', '111')},周敦颐,男,汉族,{DAO_COUNTY},"
        "濂溪街道,道县濂溪路 1 号,13807461234,正常",
        # Full-width digits and stray spaces, a spaced phone number, no status: still fine.
        f"  {full_width(resident_id_for('431102', '19720505', '131'))} , 欧阳修 ,男,汉族,"
        " 431102 ,徐家井街道,,138 0746 5678,",
        # A pre-1995 county code resolves to today's 道县.
        f"{resident_id_for('432923', '19600808', '222')},李清照,女,汉族,432923,白马渡镇,,,正常",
    ]
    bad_check = resident_id_for(DAO_COUNTY, "19880808", "333")
    bad_check = bad_check[:-1] + ("1" if bad_check[-1] != "1" else "2")
    rejected = [
        f"{bad_check},柳宗元,男,汉族,{DAO_COUNTY},濂溪街道,,,正常",
        f"{resident_id_for(DAO_COUNTY, '19950101', '351')},,男,汉族,{DAO_COUNTY},,,,正常",
        f"{resident_id_for(DAO_COUNTY, '19700101', '371')},王安石,男,汉族,999999,,,,正常",
    ]
    upload = write_household_file(tmp_path, accepted + rejected, name="道县户籍.csv")
    officer = make_staff(platform, "officer", roles=("registry_officer",))

    page.goto("/login?next=/imports")
    log_in(page, platform, officer)
    expect(page.get_by_role("heading", name="户籍数据导入")).to_be_visible()
    page.set_input_files("#file", str(upload))
    page.click("button:has-text('开始导入')")

    expect(page.get_by_role("heading", name="导入进度")).to_be_visible()
    progress = page.locator(".progress-panel")
    expect(progress.locator("[data-field='status_label']")).to_have_text("已完成")
    expect(progress.locator("[data-field='summary']")).to_have_text(
        "accepted=3 updated=0 unchanged=0 rejected=3"
    )
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    rejections = page.locator("table.data-table tbody tr")
    expect(rejections).to_have_count(3)
    expect(page.locator("table.data-table")).to_contain_text("公民身份号码校验码错误")
    expect(page.locator("table.data-table")).to_contain_text("缺少姓名")
    expect(page.locator("table.data-table")).to_contain_text("户籍地区划不是永州市的行政区划代码")

    with page.expect_download() as download_info:
        page.click("a:has-text('下载 CSV')")
    download = download_info.value
    assert download.suggested_filename.endswith("-rejections.csv")
    report = Path(download.path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(report)))
    assert lines[0][:4] == ["行号", "字段", "错误代码", "原因"]
    assert sorted(line[2] for line in lines[1:]) == [
        "bad_check_character",
        "missing_name",
        "unknown_household_region",
    ]
    assert bad_check not in report
    screenshot(page, request, platform)


def test_the_progress_page_follows_a_running_import(
    platform: Platform, page: Page, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The page opens before the import starts; its script polls until the import is done."""
    rows = [
        f"{resident_id_for(DAO_COUNTY, '19800101', f'{n:02d}1')},居民{chr(0x4E00 + n)},男,汉族,"
        f"{DAO_COUNTY},濂溪街道,,,正常"
        for n in range(1, 9)
    ]
    upload = write_household_file(tmp_path, [*rows, "12345,错号,男,汉族,431124,,,,正常"])
    officer = make_staff(platform, "officer", roles=("registry_officer",))
    with platform.session() as session, transaction(session):
        job = create_import(
            session,
            file_name=upload.name,
            stored_path=upload,
            encoding=None,
            created_by=officer.staff_id,
            at=platform.clock.now(),
        )
        import_id = job.id

    page.goto(f"/login?next=/imports/{import_id}")
    log_in(page, platform, officer)
    status = page.locator(".progress-panel [data-field='status_label']")
    expect(status).to_have_text("等待中")
    worker = start_in_background(
        platform.sessions,
        platform.keys,
        platform.clock,
        import_id=import_id,
        actor=Actor(officer.staff_id, officer.username, ("registry_officer",), "hrss"),
        chunk_size=1,
    )

    expect(status).to_have_text("已完成")
    expect(page.locator("[data-field='summary']")).to_have_text(
        "accepted=8 updated=0 unchanged=0 rejected=1"
    )
    expect(page.locator("a:has-text('下载 Excel')")).to_be_visible()
    expect(page.locator("table.data-table")).to_contain_text("公民身份号码格式错误")
    worker.join(timeout=10)
    screenshot(page, request, platform)


def test_the_administrative_pages_render_in_a_real_browser(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    """A walk through the pages each administrative role opens, for the look as much as for
    the behaviour: every page renders without script or policy errors."""
    walks = [
        (make_staff(platform, "leader", roles=("leading_group",)), "/regions", "行政区划与人口"),
        (
            make_staff(platform, "sysadmin", roles=("system_admin",)),
            "/admin/staff",
            "人员与权限管理",
        ),
        (make_staff(platform, "secadmin", roles=("security_admin",)), "/admin/roles", "角色授权"),
        (make_staff(platform, "auditor", roles=("audit_admin",)), "/audit", "审计日志"),
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    backend = platform.engine.dialect.name
    for account, path, heading in walks:
        page.goto(f"/login?next={path}")
        log_in(page, platform, account)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        if path == "/audit":
            expect(page.locator(".verdict-ok")).to_contain_text("审计链完整")
        slug = path.strip("/").replace("/", "-")
        page.screenshot(
            path=str(SCREENSHOTS / f"{request.node.originalname}-{slug}-{backend}.png"),
            full_page=True,
        )
        page.click("button:has-text('退出登录')")
        expect(page.locator(".flash-ok")).to_contain_text("您已安全退出")
    page.goto("/portal")
    expect(page.get_by_role("heading", name="一卡在手，社保服务一网通办")).to_be_visible()
    screenshot(page, request, platform)


def test_a_clerk_changes_the_password_from_the_header(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    clerk = make_staff(platform, "daoclerk", scope=DAO_COUNTY)
    page.goto("/login")
    log_in(page, platform, clerk)
    page.click("header a:has-text('修改密码')")
    expect(page.get_by_role("heading", name="设置新密码")).to_be_visible()

    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "Spring-2026-yz")
    page.fill("#confirm_password", "Spring-2026-yx")
    page.click("main button:has-text('修改密码')")
    expect(page.locator("#confirm_password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("main")).to_contain_text("两次输入的新密码不一致。")
    screenshot(page, request, platform)

    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "Spring-2026-yz")
    page.fill("#confirm_password", "Spring-2026-yz")
    page.click("main button:has-text('修改密码')")
    expect(page.get_by_role("status")).to_contain_text("密码已修改")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.fill("#username", clerk.username)
    page.fill("#password", "Spring-2026-yz")
    page.click("button:has-text('登录')")
    expect(page.locator(".user-name")).to_have_text("测试daoclerk")
