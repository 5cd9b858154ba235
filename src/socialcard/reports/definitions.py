"""The figure definitions printed in reports: a copy of the table in docs/metrics.md.

The docs are not installed with the package, so the report carries the table itself; a unit test
checks that it is still word for word the table in docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Definition:
    figure: str
    definition: str
    label: str
    definition_zh: str


DEFINITIONS: Final = (
    Definition(
        "catalogue opening rate, city",
        "items opened at city level or in at least one county ÷ applicable items",
        "应用目录开通率（全市）",
        "市本级或至少一个县区已开通的事项数 ÷ 适用事项数",
    ),
    Definition(
        "catalogue opening rate, county",
        "items opened in the county (or at city level) ÷ applicable items",
        "应用目录开通率（县区）",
        "在该县区（或市本级）已开通的事项数 ÷ 适用事项数",
    ),
    Definition(
        "… by category / by usage kind",
        "the same, restricted to the items of one category or one usage kind",
        "按分类 / 按用卡方式",
        "同上，只计某一分类或某一用卡方式的事项",
    ),
    Definition(
        "county coverage of an item",
        "counties where it is opened ÷ county-level units (11, configurable)",
        "县区覆盖率",
        "已开通该事项的县区数 ÷ 县级行政区数（默认 11 个）",
    ),
    Definition(
        "population coverage of an item",
        "resident population of the counties where it is opened ÷ sum of the counties' "
        "resident populations",
        "人群覆盖率",
        "已开通县区的常住人口 ÷ 各县区常住人口合计",
    ),
    Definition(
        "actual use of an item",
        "distinct cardholders with a successful use of the item in the period",
        "实际使用人数",
        "统计期间内成功使用该事项的不同持卡人数",
    ),
    Definition(
        "sub-category (细类) means",
        "the mean county coverage and mean population coverage of the applicable items of one "
        "category × usage kind",
        "细类平均覆盖率",
        "同一分类 × 用卡方式下各适用事项的县区覆盖率、人群覆盖率的平均值",
    ),
    Definition(
        "card-holding rate, county",
        "usable (active) cards issued for the county ÷ living residents of the county in the "
        "registry; figures as of today",
        "持卡率",
        "为该县区发放的可用（已启用）社保卡数 ÷ 户籍系统中该县区在册的正常状态人员数；按当日统计",
    ),
    Definition(
        "bank-account activation rate, county",
        "usable cards with an activated bank account ÷ usable cards; figures as of today",
        "银行账户激活率",
        "银行账户已激活的可用社保卡数 ÷ 可用社保卡数；按当日统计",
    ),
)

# The conventions and targets of docs/metrics.md, in the words a reader of the report needs.
CONVENTIONS: Final = (
    "市级开通：在市本级（431100）开通的事项，视为在每个县区开通。",
    "暂不适用事项：方案列明第70–73项（工伤保险仅涉及单位业务）和第88项（本市暂未发放生育津贴）"
    "暂不适用于个人，单列展示，不计入开通率的分子、分母及细类平均值。",
    "比率以分子/分母保存，显示时保留一位小数，四舍五入。",
    "实际使用人数：统计期间内（按北京时间，含首尾两日）成功用卡的不同持卡人数。",
    "目标（永政办发〔2015〕26号）：应用目录开通率2015年9月30日前达到60%，2017年9月30日前达到80%；"
    "各细类平均覆盖率不低于80%；银行账户激活率不低于60%；常住人口人手一卡。",
    "逾期事项：适用事项的计划完成时间（月末）早于评估日期，而尚未在全部县区开通。",
)
