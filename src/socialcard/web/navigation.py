"""What a visitor may open, asked of the access policy route by route, so links and buttons
are shown exactly where enforce_policy would let the request through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from socialcard.access.policy import AUTHENTICATED, PUBLIC, load_policy


@dataclass(frozen=True, slots=True)
class Permissions:
    """The roles of the visitor (None when nobody is logged in)."""

    roles: frozenset[str] | None

    def may(self, path: str, method: str = "GET") -> bool:
        """Whether the policy lets this visitor call `METHOD path` (a route template)."""
        policy = load_policy()
        permission = policy.permission_for(method, path)
        if permission is None:
            return False
        if permission == PUBLIC:
            return True
        if self.roles is None:
            return False
        if permission == AUTHENTICATED:
            return True
        return policy.allows(self.roles, permission)


@dataclass(frozen=True, slots=True)
class Link:
    path: str
    title: str
    description: str = ""
    is_current: bool = False


# The doors of the platform, one per audience (DESIGN §6).
DOORS: Final = (
    Link("/portal", "居民服务门户", "面向市民的网站与手机端：申领进度、电子社保卡、应用目录。"),
    Link("/kiosk", "自助服务一体机", "人社自助服务一体机：插卡输密码，查询与打印个人信息。"),
    Link("/counter", "窗口业务", "服务大厅窗口：人员查询，社保卡申领、挂失、补换等业务。"),
    Link("/console", "部门工作台", "各责任单位：办件队列、待遇发放名单、审批。"),
    Link("/dashboard", "领导小组驾驶舱", "推进情况：应用目录开通、持卡率、激活率，分县区展示。"),
)

DASHBOARD: Final = DOORS[-1]

# The working pages, in the order of the navigation bar.
FUNCTIONS: Final = (
    Link("/persons", "人员查询", "按公民身份号码、姓名与出生日期或县区查询人员信息。"),
    Link("/imports", "户籍数据导入", "导入公安户籍数据文件，查看进度并下载错误报告。"),
    Link("/cards/batches", "制卡批次", "按合作银行生成制卡批次、下载送盘文件、导入回盘文件。"),
    Link("/disbursement", "资金发放", "上传发放名单、审核、送盘、回盘对账与纠错重发。"),
    Link("/ledger", "资金账本", "复式记账账本：打开即核验借贷平衡与余额，各项目预算与账户流水。"),
    Link(
        "/payments",
        "窗口收费",
        "用社会保障卡银行账户缴纳考试、鉴定、人事代理费与学费，退费与缴费凭证。",
    ),
    Link(
        "/insurance",
        "社会保险",
        "参保登记、缴费申报与到账确认、关系转移，打印参保缴费凭证和个人权益记录单。",
    ),
    Link("/catalog", "应用目录", "社会保障卡应用目录 111 项：分类、责任单位与各县区开通情况。"),
    Link("/regions", "行政区划与人口", "各县区常住人口，覆盖率指标的分母。"),
    Link("/admin/staff", "人员与权限管理", "开设、停用工作人员账户。"),
    Link("/admin/roles", "角色授权", "为工作人员授予角色（三员分立）。"),
    Link("/audit", "审计日志", "查看审计记录并校验哈希链完整性。"),
)


def navigation_for(permissions: Permissions, *, current_path: str) -> list[Link]:
    """The navigation bar: home plus every working page the visitor may open."""
    if permissions.roles is None:
        return []
    links = [Link("/", "首页", is_current=current_path == "/")]
    if permissions.may(DASHBOARD.path):
        is_current = current_path == DASHBOARD.path or current_path.startswith("/dashboard/")
        links.append(Link(DASHBOARD.path, "驾驶舱", DASHBOARD.description, is_current))
    for link in FUNCTIONS:
        if permissions.may(link.path):
            is_current = current_path == link.path or current_path.startswith(link.path + "/")
            links.append(Link(link.path, link.title, link.description, is_current))
    return links


def doors_for(permissions: Permissions) -> list[Link]:
    return [door for door in DOORS if permissions.may(door.path)]


def functions_for(permissions: Permissions) -> list[Link]:
    return [link for link in FUNCTIONS if permissions.may(link.path)]
