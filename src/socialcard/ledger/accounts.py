"""Account codes are colon paths built here and nowhere else (STYLE §4)."""

from __future__ import annotations

import re

from socialcard.ledger.errors import AccountCodeInvalid

ROOTS = frozenset(
    {"fund", "person", "institution", "provider", "programme", "bank", "department", "external"}
)
_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


def check_account_code(code: str) -> str:
    """The code itself, or AccountCodeInvalid naming the rule it breaks."""
    parts = code.split(":")
    if len(code) > 120:
        raise AccountCodeInvalid(code, "不超过 120 个字符")
    if len(parts) < 2 or parts[0] not in ROOTS:
        raise AccountCodeInvalid(code, "以 " + "/".join(sorted(ROOTS)) + " 开头的冒号路径")
    if not all(_SEGMENT.match(part) for part in parts[1:]):
        raise AccountCodeInvalid(code, "每段只含字母、数字、下划线、点和连字符")
    return code


def pooled_fund(scheme: str) -> str:
    return f"fund:{scheme}:pooled"


def personal_account(person_id: int, purpose: str = "personal") -> str:
    return f"person:{person_id}:{purpose}"


def provider_payable(provider_id: int) -> str:
    return f"provider:{provider_id}:payable"


def programme_budget(programme_code: str) -> str:
    """What a disbursement programme may still pay out (credit-normal, floored)."""
    return f"programme:{programme_code}:budget"


def bank_clearing(bank_code: str, purpose: str = "payouts") -> str:
    """Money moved through a partner bank: `payouts` (credit-normal: paid out to holders'
    accounts, settled against the agency account) or `collections` (debit-normal: collected
    from holders, held by the bank for the department)."""
    return f"bank:{bank_code.lower()}:{purpose}"


def department_income(department_code: str, schedule: str) -> str:
    """Fees a department collected under one schedule (credit-normal)."""
    return f"department:{department_code}:{schedule}"


def external(name: str) -> str:
    """Outside the platform's books, Formance's `world`: the treasury, other regions."""
    return f"external:{name}"
