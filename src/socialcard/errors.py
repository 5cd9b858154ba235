"""Domain errors with stable codes, mapped once per entry point (problem+json, flash, exit code).

A DomainError means a business rule said no; its message is safe to show to the user who asked
and never contains a plaintext ID number. Codes are stable API: docs/errors.md lists them.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A business rule said no. Safe to show to the user who asked."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "请求未能完成"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"
    title = "未找到"


class Conflict(DomainError):
    """Wrong state, duplicate, already done."""

    code = "conflict"
    title = "状态冲突"


class RuleViolation(DomainError):
    """Input or a business rule refuses the request; details name the field and the rule."""

    code = "rule_violation"
    title = "不符合规则"


class PermissionDenied(DomainError):
    code = "permission_denied"
    title = "无权操作"


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    title = "需要登录"


class InvalidField(RuleViolation):
    """One field of the input breaks one rule."""

    code = "invalid_field"
    title = "字段不合规"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message, field=field, rule=rule)
        self.field = field
        self.rule = rule
