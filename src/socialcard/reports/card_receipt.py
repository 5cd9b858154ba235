"""The card issuance receipt (领卡回执): one A5 page the holder signs at the counter, in Chinese,
with the packaged CJK font embedded (the same font as the evaluation report)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.masking import mask_name
from socialcard.reports.evaluation_pdf import register_font


@dataclass(frozen=True, slots=True)
class CardReceipt:
    holder_name: str
    resident_id_masked: str
    card_number: str
    card_uid: str
    bank_name: str
    bank_account_masked: str
    issued_on: date
    issued_region_code: str
    clerk: str
    printed_at: datetime
    verification: str


def render_card_receipt(receipt: CardReceipt) -> bytes:
    """The PDF bytes. The holder's name is masked and the ID number shown masked: the receipt is
    kept on paper at the outlet."""
    font = register_font()
    buffer = io.BytesIO()
    width, height = A5
    canvas = Canvas(buffer, pagesize=A5, pageCompression=1)
    canvas.setTitle("社会保障卡领卡回执")
    canvas.setAuthor("永州市社会保障卡（市民卡）综合应用平台")
    canvas.setFont(font, 15)
    canvas.drawCentredString(width / 2, height - 22 * mm, "永州市社会保障卡领卡回执")
    canvas.setFont(font, 8.5)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.drawCentredString(
        width / 2, height - 28 * mm, "永州市人力资源和社会保障局　社会保障卡服务窗口"
    )
    canvas.setFillColor(colors.black)
    rows = [
        ("持卡人", mask_name(receipt.holder_name)),
        ("社会保障号码", receipt.resident_id_masked),
        ("社会保障卡卡号", receipt.card_number),
        ("卡识别码", receipt.card_uid or "—"),
        ("合作银行", receipt.bank_name),
        ("银行账号", receipt.bank_account_masked or "—"),
        ("发卡日期", receipt.issued_on.isoformat()),
        ("发卡网点", receipt.issued_region_code or "—"),
        ("经办人", receipt.clerk),
    ]
    top = height - 40 * mm
    canvas.setStrokeColor(colors.HexColor("#c8ced6"))
    for index, (label, value) in enumerate(rows):
        y = top - index * 9 * mm
        canvas.setFont(font, 10)
        canvas.drawString(16 * mm, y, label)
        canvas.setFont(font, 11)
        canvas.drawString(50 * mm, y, value)
        canvas.line(16 * mm, y - 2.5 * mm, width - 16 * mm, y - 2.5 * mm)
    notes_top = top - len(rows) * 9 * mm - 4 * mm
    canvas.setFont(font, 8.5)
    for offset, line in enumerate(
        [
            "1. 请当场核对卡面信息；领卡后请及时启用社保功能并修改初始密码。",
            "2. 银行账户须本人持卡和身份证件到卡面所示银行网点激活后方可使用金融功能。",
            "3. 卡片遗失请立即拨打 12333 或通过网站、手机临时挂失，并到窗口办理正式挂失。",
        ]
    ):
        canvas.drawString(16 * mm, notes_top - offset * 5 * mm, line)
    canvas.setFont(font, 10.5)
    canvas.drawString(16 * mm, 26 * mm, "持卡人（代领人）签字：")
    canvas.line(55 * mm, 25 * mm, width - 16 * mm, 25 * mm)
    canvas.setFont(font, 8)
    printed = receipt.printed_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    canvas.drawString(16 * mm, 14 * mm, f"打印时间：{printed}　校验码：{receipt.verification}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
