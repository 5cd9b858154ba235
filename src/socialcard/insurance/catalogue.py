"""The catalogue items social insurance implements (DESIGN §1), and the department that answers
for them (市人社局及其社保经办机构: the HR and social security bureau)."""

from __future__ import annotations

from typing import Final

from socialcard.catalog.bindings import Binding

DEPARTMENT: Final = "hrss"
ITEM_ENROL: Final = 22  # 参保登记
ITEM_DECLARE: Final = 23  # 个人缴费申报
ITEM_TRANSFER: Final = 24  # 社会保险关系转移
ITEM_RECORD: Final = 26  # 参保信息记录 (the card's data area)
ITEM_CERTIFICATE: Final = 27  # 参保缴费凭证查询及打印
ITEM_STATEMENT: Final = 28  # 个人权益记录单查询及打印
ITEM_QUERY: Final = 29  # 个人参保信息查询
ITEM_SELF_PAY: Final = 30  # 个人自主缴费

CATALOG_BINDINGS: Final = (
    Binding(ITEM_ENROL, "insurance", "enrol"),
    Binding(ITEM_DECLARE, "insurance", "declare_flexible"),
    Binding(ITEM_TRANSFER, "insurance", "transfer_out"),
    Binding(ITEM_RECORD, "insurance", "enrolment_records"),
    Binding(ITEM_CERTIFICATE, "insurance", "certificate_figures"),
    Binding(ITEM_STATEMENT, "insurance", "rights_statement_figures"),
    Binding(ITEM_QUERY, "insurance", "insured_overview"),
    Binding(ITEM_SELF_PAY, "insurance", "settle_resident_contribution"),
)
