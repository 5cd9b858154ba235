"""The failure-reason table and the seeded fault plan."""

from __future__ import annotations

import pytest

from socialcard.banks import reasons
from socialcard.banks.faults import Fault, FaultPlan


def test_every_reason_of_domain_7_has_its_chinese_text() -> None:
    assert reasons.REASONS == {
        "account_closed": "账户已销户",
        "account_frozen": "账户冻结/只收不付",
        "account_lost": "账户已挂失",
        "not_activated": "账户未激活",
        "name_mismatch": "户名不符",
        "no_such_account": "账户不存在",
        "dormant": "久悬账户",
        "id_mismatch": "证件信息不符",
        "insufficient_funds": "余额不足",
    }
    assert reasons.describe("name_mismatch") == "户名不符"
    assert reasons.describe("new_bank_code") == "其他原因（new_bank_code）"


def test_the_same_seed_gives_the_same_faults() -> None:
    plan = FaultPlan(seed=7, timeout_rate=0.2, unavailable_rate=0.2, drop_response_rate=0.2)
    first, second = plan.dice(), plan.dice()
    allowed = (Fault.TIMEOUT, Fault.UNAVAILABLE, Fault.DROP_RESPONSE)
    one = [first.roll(*allowed) for _ in range(500)]
    assert one == [second.roll(*allowed) for _ in range(500)]
    assert {Fault.TIMEOUT, Fault.UNAVAILABLE, Fault.DROP_RESPONSE, None} == set(one)
    other = FaultPlan(seed=8, timeout_rate=0.2, unavailable_rate=0.2, drop_response_rate=0.2)
    assert one != [other.dice().roll(*allowed) for _ in range(500)]


def test_a_fault_an_operation_cannot_suffer_does_not_happen() -> None:
    dice = FaultPlan(seed=1, duplicate_delivery_rate=1.0).dice()
    assert dice.roll(Fault.TIMEOUT) is None
    assert dice.roll(Fault.DUPLICATE_DELIVERY) is Fault.DUPLICATE_DELIVERY


def test_impossible_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rates"):
        FaultPlan(seed=1, timeout_rate=0.7, unavailable_rate=0.7)
