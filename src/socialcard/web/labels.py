"""Chinese labels for codes the pages show (roles, departments, audit actions and results, import
states, person fields)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from socialcard.access.policy import load_policy
from socialcard.access.services import DEPARTMENTS

AUDIT_ACTIONS: Final[dict[str, str]] = {
    "auth.login": "登录",
    "auth.logout": "退出登录",
    "auth.password_changed": "修改密码",
    "access.denied": "拒绝访问",
    "person.search": "查询人员",
    "person.view": "查看人员",
    "person.reveal": "查看完整信息",
    "import.upload": "上传导入文件",
    "import.household_register": "户籍数据导入",
    "import.rejections_export": "下载错误报告",
    "staff.create": "开设账户",
    "staff.disable": "停用账户",
    "staff.reset_password": "重置密码",
    "staff.grant_role": "授予角色",
    "audit.view": "查看审计日志",
    "audit.verify": "校验审计链",
    "region.population_set": "更正人口数",
    "catalog.opening_changed": "变更事项开通状态",
    "catalog.opening_sheet_applied": "批量开通",
    "token.issue": "签发接口令牌",
    "report.evaluation_export": "下载评估报告",
    "card.apply": "申领社保卡",
    "payment.create": "开具缴费单",
    "payment.pay": "刷卡缴费",
    "payment.refund": "缴费退费",
    "payment.receipt": "打印缴费凭证",
    "payment.settle_unknown": "向银行查询待确认缴费",
    "insurance.enrolled": "参保登记",
    "insurance.enrolment_suspend": "暂停缴费",
    "insurance.enrolment_resume": "恢复缴费",
    "insurance.enrolment_terminate": "终止参保",
    "insurance.departure": "单位减员",
    "insurance.declared": "缴费申报",
    "insurance.back_payment": "补缴申报",
    "insurance.payment_recorded": "确认单位缴费到账",
    "insurance.declaration_cancelled": "撤销缴费申报",
    "insurance.declaration_exported": "导出缴费申报明细",
    "insurance.transferred_out": "社会保险关系转出",
    "insurance.transferred_in": "社会保险关系转入",
    "insurance.transfer_file_downloaded": "下载关系转移数据文件",
    "insurance.document_issued": "出具参保凭证或权益记录单",
    "insurance.parameters_loaded": "导入缴费参数",
    "insurance.year_settled": "养老个人账户年度结息",
    "card.apply_bulk": "批量申领社保卡",
    "card.collect": "社保卡采集完成",
    "card.issue": "发放社保卡",
    "card.activate": "启用社保卡",
    "card.report_temporary": "临时挂失",
    "card.report_formal": "正式挂失",
    "card.cancel_report": "解除挂失",
    "card.reissue": "补卡",
    "card.replace": "换卡",
    "card.cancel": "注销社保卡",
    "card.reset_pin": "重置社保卡密码",
    "card.pin_changed": "修改社保卡密码",
    "card.view": "查看社保卡",
    "card.use_refused": "用卡被拒绝",
    "card.bank_account_activated": "银行账户激活",
    "card.area_written": "写入卡内数据区",
    "card.batch_created": "生成制卡批次",
    "card.batch_send_file": "下载制卡送盘文件",
    "card.batch_returned": "导入制卡回盘文件",
    "card.payments_queried": "惠民资金查询（终端）",
    "disbursement.uploaded": "上传发放名单",
    "disbursement.submit": "提交发放批次审核",
    "disbursement.approve": "审核通过发放批次（冻结资金）",
    "disbursement.return": "退回发放批次",
    "disbursement.cancel": "作废发放批次",
    "disbursement.run": "送盘发放 / 处理回盘",
    "disbursement.funded": "下达发放项目预算",
    "disbursement.reissued": "纠错重发",
    "disbursement.correction_fixed": "确认银行账户已处理",
    "disbursement.correction_closed": "纠错明细移出",
    "bank.files_relayed": "发送银行送盘文件",
    "bank.sandbox_account_changed": "变更沙箱银行账户",
    "terminal.register": "登记终端",
    "terminal.admit": "终端入网",
    "terminal.suspend": "暂停终端",
    "terminal.revoke": "注销终端",
}

DEPARTMENT_NAMES: Final[dict[str, str]] = {code: name for code, name, _units in DEPARTMENTS}
AUDIT_RESULTS: Final[dict[str, str]] = {"success": "成功", "failure": "失败", "denied": "拒绝"}

IMPORT_STATUSES: Final[dict[str, str]] = {
    "pending": "等待中",
    "running": "导入中",
    "completed": "已完成",
    "failed": "失败",
}

# The person fields a version row may name (registry.services.TRACKED_FIELDS).
PERSON_FIELDS: Final[dict[str, str]] = {
    "name": "姓名",
    "ethnicity": "民族",
    "household_region_code": "户籍地区划",
    "household_address": "户籍地址",
    "residence_county_code": "现住县区",
    "residence_township": "现住乡镇（街道）",
    "residence_address": "现住址",
    "phone_index": "联系电话",
    "phone_masked": "联系电话",
    "status": "人员状态",
    "status_changed_on": "状态变更日期",
}

OBJECT_TYPES: Final[dict[str, str]] = {
    "person": "人员",
    "staff": "工作人员",
    "household_import": "导入任务",
    "region": "行政区划",
    "catalog_item": "应用目录事项",
    "catalog": "应用目录",
    "card": "社会保障卡",
    "production_batch": "制卡批次",
    "disbursement_batch": "发放批次",
    "terminal": "终端",
    "bank_file": "银行文件",
    "sandbox_account": "沙箱银行账户",
    "payment_order": "缴费单",
    "payment_orders": "缴费单",
    "enrolment": "参保关系",
    "declaration": "缴费申报单",
    "insurance_transfer": "社会保险关系转移",
    "insurance_document": "参保凭证",
    "file": "文件",
    "year": "年度",
}


def role_name(code: str) -> str:
    role = load_policy().roles.get(code)
    return role.name if role is not None else code


def role_names(codes: Iterable[str]) -> list[str]:
    return [role_name(code) for code in sorted(codes)]


def department_name(code: str | None) -> str:
    """A department's Chinese name; a code the platform does not know is shown as it is."""
    return "" if code is None else DEPARTMENT_NAMES.get(code, code)


def department_names(codes: Iterable[str]) -> str:
    return "、".join(department_name(code) for code in codes)
