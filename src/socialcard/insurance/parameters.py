"""Contribution parameters: read a parameters file (TOML), check every value, load it as new
versions, and find the version in force for a month.

A version already loaded is never changed: loading the same content again is a no-op, other
content under the same scheme and date is refused (a correction is a new version with its own
effective date, so every declaration keeps the rule it was computed with).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.insurance.errors import ParametersInvalid, RuleNotInForce
from socialcard.insurance.models import ContributionRule, InterestRate
from socialcard.insurance.rules import MonthlyRule, Tier, period_label, period_start
from socialcard.insurance.schemes import SCHEMES, SchemeCode

EXAMPLE_FILE = "yongzhou-example.toml"
RATE_MAX_BP = 3000  # no scheme charges more than 30 % of the base to one side


@dataclass(frozen=True, slots=True)
class RuleVersion:
    scheme: SchemeCode
    effective_from: date
    base_floor_minor: int
    base_ceiling_minor: int
    employer_rate_bp: int
    individual_rate_bp: int
    account_rate_bp: int
    flexible_rate_bp: int
    tiers: tuple[tuple[int, int], ...]

    def columns(self) -> dict[str, object]:
        return {
            "scheme": self.scheme,
            "effective_from": self.effective_from,
            "base_floor_minor": self.base_floor_minor,
            "base_ceiling_minor": self.base_ceiling_minor,
            "employer_rate_bp": self.employer_rate_bp,
            "individual_rate_bp": self.individual_rate_bp,
            "account_rate_bp": self.account_rate_bp,
            "flexible_rate_bp": self.flexible_rate_bp,
            "tiers": [list(t) for t in self.tiers],
        }


@dataclass(frozen=True, slots=True)
class ParameterSet:
    rules: tuple[RuleVersion, ...]
    interest: dict[int, int]  # year → rate in basis points
    is_example: bool
    source: str


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    added: int
    unchanged: int
    rates_added: int


def _yuan(value: object, where: str) -> int:
    try:
        amount = Decimal(str(value)) * 100
    except InvalidOperation:
        raise ParametersInvalid(where, '金额应写成元，如 "2520.00"') from None
    if amount != amount.to_integral_value() or amount < 0:
        raise ParametersInvalid(where, "金额应为非负数，最多两位小数")
    return int(amount)


def _rate(value: object, where: str) -> int:
    try:
        bp = Decimal(str(value)) * 100
    except InvalidOperation:
        raise ParametersInvalid(where, '费率应写成百分数，如 "8" 或 "0.7"') from None
    if bp != bp.to_integral_value() or not 0 <= bp <= RATE_MAX_BP:
        raise ParametersInvalid(where, "费率应在 0–30 之间，最多两位小数")
    return int(bp)


def _rule(raw: dict[str, Any], n: int) -> RuleVersion:
    where = f"第 {n} 条 rule"
    try:
        scheme = SchemeCode(str(raw.get("scheme")))
    except ValueError:
        names = "、".join(s.value for s in SchemeCode)
        raise ParametersInvalid(where, f"scheme 应为 {names}") from None
    effective = raw.get("effective_from")
    if not isinstance(effective, date) or isinstance(effective, datetime) or effective.day != 1:
        raise ParametersInvalid(where, "effective_from 应为某月 1 日，如 2026-01-01")
    tiers: tuple[tuple[int, int], ...] = ()
    if SCHEMES[scheme].employee:
        floor = _yuan(raw.get("base_floor"), f"{where}.base_floor")
        ceiling = _yuan(raw.get("base_ceiling"), f"{where}.base_ceiling")
        if floor <= 0 or ceiling < floor:
            raise ParametersInvalid(where, "缴费基数下限应大于 0 且不高于上限")
    else:
        floor = ceiling = 0
        raw_tiers = raw.get("tiers")
        if not isinstance(raw_tiers, list) or not raw_tiers:
            raise ParametersInvalid(where, "居民险种须有 tiers（档次与补贴）")
        tiers = tuple(
            (_yuan(t[0], f"{where}.tiers"), _yuan(t[1], f"{where}.tiers"))
            for t in raw_tiers
            if isinstance(t, list) and len(t) == 2
        )
        amounts = [t[0] for t in tiers]
        if len(tiers) != len(raw_tiers) or amounts != sorted(set(amounts)) or 0 in amounts:
            raise ParametersInvalid(where, "tiers 应为 [金额, 补贴] 对，金额为正且由低到高不重复")
    return RuleVersion(
        scheme=scheme,
        effective_from=effective,
        base_floor_minor=floor,
        base_ceiling_minor=ceiling,
        employer_rate_bp=_rate(raw.get("employer_rate", "0"), f"{where}.employer_rate"),
        individual_rate_bp=_rate(raw.get("individual_rate", "0"), f"{where}.individual_rate"),
        account_rate_bp=_rate(raw.get("account_rate", "0"), f"{where}.account_rate"),
        flexible_rate_bp=_rate(raw.get("flexible_rate", "0"), f"{where}.flexible_rate"),
        tiers=tiers,
    )


def parse_parameters(text: str) -> ParameterSet:
    """Read a parameters file; ParametersInvalid names the entry and the rule it breaks."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParametersInvalid("文件", f"不是有效的 TOML：{exc}") from None
    meta = doc.get("meta", {})
    source = str(meta.get("source", "")).strip()
    if not source:
        raise ParametersInvalid("meta.source", "须写明参数来源（文件名、文号）")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ParametersInvalid("rule", "至少一条 [[rule]]")
    rules = tuple(_rule(raw, n) for n, raw in enumerate(raw_rules, start=1))
    keys = [(r.scheme, r.effective_from) for r in rules]
    if len(set(keys)) != len(keys):
        raise ParametersInvalid("rule", "同一险种同一生效日期只能有一条")
    interest: dict[int, int] = {}
    for year, value in doc.get("interest", {}).items():
        if not str(year).isdigit() or not 1990 <= int(year) <= 2100:
            raise ParametersInvalid(f"interest.{year}", "年份应为四位数字")
        interest[int(year)] = _rate(value, f"interest.{year}")
    return ParameterSet(rules, interest, bool(meta.get("is_example", False)), source[:200])


def example_parameters() -> ParameterSet:
    text = resources.files("socialcard.insurance").joinpath("data", EXAMPLE_FILE).read_text("utf-8")
    return parse_parameters(text)


def read_parameters_file(path: Path) -> ParameterSet:
    return parse_parameters(path.read_text(encoding="utf-8"))


def load_parameters(session: Session, parameters: ParameterSet, *, at: datetime) -> LoadOutcome:
    """Add every version not loaded yet; refuse one that differs from a loaded version."""
    existing = {
        (row.scheme, row.effective_from): row for row in session.scalars(select(ContributionRule))
    }
    added = unchanged = 0
    for rule in parameters.rules:
        row = existing.get((rule.scheme, rule.effective_from))
        if row is not None:
            if any(getattr(row, k) != v for k, v in rule.columns().items()):
                raise ParametersInvalid(
                    f"{rule.scheme.value} {rule.effective_from}",
                    "该版本已导入且内容不同；更正参数请以新的生效日期发布",
                )
            unchanged += 1
            continue
        session.add(
            ContributionRule(
                **rule.columns(),
                is_example=parameters.is_example,
                source=parameters.source,
                loaded_at=at,
            )
        )
        added += 1
    rates_added = 0
    for year, rate_bp in sorted(parameters.interest.items()):
        found = session.get(InterestRate, year)
        if found is not None:
            if found.rate_bp != rate_bp:
                raise ParametersInvalid(f"interest.{year}", "该年度记账利率已导入且不同")
            continue
        session.add(
            InterestRate(
                year=year,
                rate_bp=rate_bp,
                is_example=parameters.is_example,
                source=parameters.source,
                loaded_at=at,
            )
        )
        rates_added += 1
    session.flush()
    return LoadOutcome(added, unchanged, rates_added)


def ensure_example_parameters(session: Session, *, at: datetime) -> LoadOutcome | None:
    """Load the shipped example parameters into an empty rules table (a new platform, the demo,
    the tests); a table holding anything — an operator's own parameters — is left alone."""
    if session.scalar(select(ContributionRule.id).limit(1)) is not None:
        return None
    return load_parameters(session, example_parameters(), at=at)


def find_rule(session: Session, scheme: SchemeCode, period: int) -> ContributionRule | None:
    stmt = (
        select(ContributionRule)
        .where(
            ContributionRule.scheme == scheme,
            ContributionRule.effective_from <= period_start(period),
        )
        .order_by(ContributionRule.effective_from.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def get_rule(session: Session, scheme: SchemeCode, period: int) -> ContributionRule:
    rule = find_rule(session, scheme, period)
    if rule is None:
        raise RuleNotInForce(SCHEMES[scheme].name, period_label(period))
    return rule


def rules_in_force(
    session: Session, schemes: Iterable[SchemeCode], period: int
) -> dict[SchemeCode, ContributionRule]:
    """The version of each scheme's rule in force in the month, in one query."""
    wanted = list(schemes)
    stmt = (
        select(ContributionRule)
        .where(
            ContributionRule.scheme.in_(wanted),
            ContributionRule.effective_from <= period_start(period),
        )
        .order_by(ContributionRule.effective_from)
    )
    found = {rule.scheme: rule for rule in session.scalars(stmt)}  # the latest wins
    for scheme in wanted:
        if scheme not in found:
            raise RuleNotInForce(SCHEMES[scheme].name, period_label(period))
    return {scheme: found[scheme] for scheme in wanted}


def monthly_rule(row: ContributionRule) -> MonthlyRule:
    return MonthlyRule(
        base_floor_minor=row.base_floor_minor,
        base_ceiling_minor=row.base_ceiling_minor,
        employer_rate_bp=row.employer_rate_bp,
        individual_rate_bp=row.individual_rate_bp,
        account_rate_bp=row.account_rate_bp,
        flexible_rate_bp=row.flexible_rate_bp,
    )


def tiers_of(row: ContributionRule) -> tuple[Tier, ...]:
    return tuple(Tier(int(a), int(s)) for a, s in row.tiers)


def interest_rate(session: Session, year: int) -> InterestRate | None:
    return session.get(InterestRate, year)


def list_rules(session: Session) -> list[ContributionRule]:
    stmt = select(ContributionRule).order_by(
        ContributionRule.scheme, ContributionRule.effective_from
    )
    return list(session.scalars(stmt))
