"""The money console in a real headless Chromium: the finance approver opens a batch the
agriculture bureau submitted, approves it, sends it to the sandbox bank and sees it reconciled
with the per-bank chart; the holder finds the subsidy in 惠民资金查询. Screenshots in
test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.payee_lists import read_payee_list, render_payee_list
from socialcard.disbursement.runner import agency_account
from socialcard.disbursement.services import Officer
from tests.browser.test_browser_flows import (
    SCREENSHOTS,
    base_url,
    browser,
    log_in,
    page,
    screenshot,
)
from tests.money_support import cardholders, fund_grain_subsidy
from tests.support import make_staff

__all__ = ["base_url", "browser", "page"]


def test_the_approver_pays_a_batch_and_the_holder_sees_it(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    fund_grain_subsidy(platform)
    banks = ("ICBC", "CCB", "ABC", "PSBC")
    holders = cardholders(platform, 40, banks=banks)
    bank = platform.bank
    assert isinstance(bank, SandboxBank)
    bank.open_accounts((h.bank_code, h.account, h.name, h.resident_id, True) for h in holders)
    for code in banks:
        bank.open_agency_account(code, agency_account(code), "永州市财政局")
    for holder in holders[::9]:
        bank.set_state(holder.bank_code, holder.account, "frozen")
    maker = make_staff(
        platform, "nongye", roles=("disbursement_officer",), department="agriculture"
    )
    approver = make_staff(platform, "caizheng", roles=("finance_approver",), department="finance")
    rows = [(h.resident_id, h.name, 21_000 + 1_050 * (n % 5), "") for n, h in enumerate(holders)]
    rows.append(("431124197001019993", "查无此人", 100, ""))
    data = render_payee_list(rows)
    officer = Officer(maker.staff_id, "agriculture")
    with platform.session() as session, transaction(session):
        batch = disbursement.create_batch(
            session,
            platform.keys,
            programme_code="I107",
            period="2026",
            title="2026 年耕地地力保护补贴（道县）",
            rows=read_payee_list(data, filename="x.csv", period="2026", max_line_minor=10**7),
            source_name="x.csv",
            source=data,
            officer=officer,
            at=platform.clock.now(),
        )
        batch_no = batch.batch_no
        disbursement.submit_batch(
            session, batch_no=batch_no, officer=officer, at=platform.clock.now()
        )

    page.goto("/disbursement/approvals")
    log_in(page, platform, approver)
    page.goto("/disbursement/approvals")
    page.click(f"a:has-text('{batch_no}')")
    page.click("button:has-text('审核通过')")
    expect(page.locator("main")).to_contain_text("资金已在账本中冻结")
    page.click("button:has-text('送盘发放')")
    expect(page.locator(".reconcile-ok")).to_contain_text("已平衡")
    expect(page.locator("svg.bar-chart").first).to_be_visible()
    screenshot(page, request, platform)
    page.goto("/disbursement/corrections")
    expect(page.locator("main")).to_contain_text("账户冻结")
    name = f"{request.node.originalname}-{platform.engine.dialect.name}-corrections.png"
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    # The holder, on the portal with ID number, card and PIN.
    page.click("button:has-text('退出登录')")
    page.goto("/portal")
    page.fill("#resident_id", holders[1].resident_id)
    page.fill("#card_number", holders[1].card_number)
    page.fill("#pin", "246810")
    page.click("button:has-text('登录')")
    page.click("a:has-text('惠民资金查询')")
    expect(page.locator("main")).to_contain_text("种粮补贴")
    expect(page.locator("main")).to_contain_text("永州市农业农村局")
    name = f"{request.node.originalname}-{platform.engine.dialect.name}-benefits.png"
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
