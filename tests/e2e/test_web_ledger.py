"""The ledger pages (资金账本) for the fund auditor: the books proved as the page opens, the
programmes' budgets as a chart, the groups of accounts, an account's statement; refused to a
department officer; an alarm when a stored balance no longer matches its transfers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.services import Officer
from socialcard.server import create_app
from tests.e2e.test_web_pages import log_in
from tests.money_support import cardholders, fund_grain_subsidy, upload_payee_list
from tests.support import make_staff

BUDGET = "programme:I107:budget"


def _approved_batch(platform: Platform) -> str:
    """The grain subsidy funded with ¥1,000,000 and a batch of three ¥315 lines approved: its
    money is reserved against the budget."""
    fund_grain_subsidy(platform, 100_000_000)
    holders = cardholders(platform, 3, banks=("ICBC",))
    maker = Officer(staff_id=None, department_code="agriculture")
    checker = Officer(staff_id=None, department_code="finance")
    batch_no, _ = upload_payee_list(
        platform, [(h.resident_id, h.name, 31_500, "") for h in holders], officer=maker
    )
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        disbursement.submit_batch(session, batch_no=batch_no, officer=maker, at=at)
        disbursement.approve_batch(session, batch_no=batch_no, officer=checker, at=at)
    return batch_no


def test_the_auditor_sees_the_books_proved_and_the_budgets(platform: Platform) -> None:
    _approved_batch(platform)
    auditor = TestClient(create_app(platform))
    log_in(auditor, platform, make_staff(platform, "shenji", roles=("auditor",)))

    home = auditor.get("/")
    assert 'href="/ledger"' in home.text  # the auditor's working page

    page = auditor.get("/ledger")
    assert page.status_code == 200, page.text
    assert "账本平衡" in page.text
    assert "发放项目预算执行" in page.text
    assert "<svg" in page.text
    assert "种粮补贴" in page.text
    assert "预算 ¥1,000,000" in page.text
    # The budget's account: ¥1,000,000 allocated, 3 × ¥315 reserved for the approved batch.
    row = page.text[page.text.index(f'href="/ledger/accounts/{BUDGET}"') :].split("</tr>")[0]
    assert "¥1,000,000.00" in row  # the balance: nothing paid out yet
    assert "¥945.00" in row  # reserved
    assert "¥999,055.00" in row  # available
    assert "发放项目预算" in page.text
    assert "外部往来" in page.text

    statement = auditor.get(f"/ledger/accounts/{BUDGET}")
    assert statement.status_code == 200
    assert "冻结" in statement.text
    assert "入账" in statement.text
    assert 'href="/ledger/accounts/external:treasury"' in statement.text  # the allocation
    assert "−" in statement.text  # the reservation lowers the budget

    missing = auditor.get("/ledger/accounts/programme:I999:budget")
    assert missing.status_code == 404
    assert "账务科目 programme:I999:budget 不存在" in missing.text

    groups = auditor.get("/ledger?group=bank")
    assert "bank:icbc:payouts" in groups.text


def test_a_department_officer_cannot_open_the_ledger(platform: Platform) -> None:
    officer = TestClient(create_app(platform))
    log_in(
        officer,
        platform,
        make_staff(platform, "nongye", roles=("disbursement_officer",), department="agriculture"),
    )
    assert officer.get("/ledger").status_code == 403
    assert 'href="/ledger"' not in officer.get("/").text


def test_a_stored_balance_that_left_its_transfers_raises_the_alarm(platform: Platform) -> None:
    _approved_batch(platform)
    with platform.session() as session, transaction(session):
        session.execute(
            text(
                "UPDATE ledger_balances SET credits_posted = credits_posted + 100 "
                "WHERE account_id = (SELECT id FROM ledger_accounts WHERE code = :code)"
            ),
            {"code": BUDGET},
        )
    auditor = TestClient(create_app(platform))
    log_in(auditor, platform, make_staff(platform, "shenji", roles=("auditor",)))
    page = auditor.get("/ledger")
    assert page.status_code == 200
    assert "账本核验发现 1 个问题" in page.text
    assert BUDGET in page.text.split("账本核验发现")[1].split("</ul>")[0]
