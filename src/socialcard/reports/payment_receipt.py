"""The payment receipt (缴费凭证): one A5 page in Chinese with the packaged CJK font embedded (the
same registration as the card receipt and the evaluation report). It shows the payer masked, the
amount in figures and in capitals, and a short verification code the department can check."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.models import Department
from socialcard.cards.models import PARTNER_BANKS
from socialcard.catalog.queries import get_item
from socialcard.kernel.capitals import amount_in_capitals
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.masking import mask_name
from socialcard.payments.queries import get_receipt_facts
from socialcard.reports.evaluation_pdf import register_font

VERIFICATION_PURPOSE = "payment_receipt"


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    order_no: str
    payer_name: str
    resident_id_masked: str
    item: str  # "93 人事人才考试缴费"
    purpose: str
    department: str  # the department and collecting unit
    amount_minor: int
    paid_at: datetime
    bank_name: str
    bank_account_masked: str
    end_to_end_id: str
    verification: str
    refunded_at: datetime | None = None


def verification_code(keys: KeyRing, *, order_no: str, amount_minor: int, paid_at: datetime) -> str:
    """A short HMAC of the order under the index key: 12 hex characters in groups of four."""
    digest = keys.blind_index(
        VERIFICATION_PURPOSE, f"{order_no}|{amount_minor}|{paid_at.isoformat()}"
    )
    code = digest[:12].upper()
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def render_payment_receipt(receipt: PaymentReceipt) -> bytes:
    """The PDF bytes. The payer's name and ID number are masked: the receipt may be printed at a
    kiosk and left behind."""
    font = register_font()
    buffer = io.BytesIO()
    width, height = A5
    canvas = Canvas(buffer, pagesize=A5, pageCompression=1)
    canvas.setTitle(f"缴费凭证 {receipt.order_no}")
    canvas.setAuthor("永州市社会保障卡（市民卡）综合应用平台")
    canvas.setFont(font, 15)
    canvas.drawCentredString(width / 2, height - 20 * mm, "永州市社会保障卡缴费凭证")
    canvas.setFont(font, 8.5)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.drawCentredString(
        width / 2, height - 26 * mm, "通过社会保障卡银行账户缴费　凭证号即缴费单号"
    )
    canvas.setFillColor(colors.black)
    yuan, fen = divmod(receipt.amount_minor, 100)
    rows = [
        ("缴费单号", receipt.order_no),
        ("缴费人", mask_name(receipt.payer_name)),
        ("社会保障号码", receipt.resident_id_masked),
        ("缴费事项", receipt.item),
        ("收费项目", receipt.purpose),
        ("收费单位", receipt.department),
        ("金额（小写）", f"¥{yuan:,}.{fen:02d}"),
        ("金额（大写）", amount_in_capitals(receipt.amount_minor)),
        ("缴费时间", _local(receipt.paid_at)),
        ("扣款银行", receipt.bank_name),
        ("银行账号", receipt.bank_account_masked or "—"),
        ("银行流水号", receipt.end_to_end_id),
    ]
    top = height - 38 * mm
    canvas.setStrokeColor(colors.HexColor("#c8ced6"))
    for index, (label, value) in enumerate(rows):
        y = top - index * 8.5 * mm
        canvas.setFont(font, 9.5)
        canvas.drawString(14 * mm, y, label)
        canvas.setFont(font, 10.5 if len(value) < 26 else 9)
        canvas.drawString(44 * mm, y, value)
        canvas.line(14 * mm, y - 2.5 * mm, width - 14 * mm, y - 2.5 * mm)
    notes_top = top - len(rows) * 8.5 * mm - 3 * mm
    canvas.setFont(font, 8.5)
    notes = ["本凭证由系统生成，可凭缴费单号与校验码向收费单位核验。"]
    if receipt.refunded_at is not None:
        canvas.setFillColor(colors.HexColor("#b42318"))
        notes.insert(0, f"本笔缴费已于 {_local(receipt.refunded_at)} 全额退回原银行账户。")
    for offset, line in enumerate(notes):
        canvas.drawString(14 * mm, notes_top - offset * 5 * mm, line)
        canvas.setFillColor(colors.black)
    canvas.setFont(font, 10)
    canvas.drawString(14 * mm, 16 * mm, f"校验码：{receipt.verification}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def payment_receipt_of(session: Session, keys: KeyRing, order_no: str) -> PaymentReceipt:
    """The receipt of a paid order (ReceiptNotAvailable before the bank collected)."""
    facts = get_receipt_facts(session, order_no)
    item = get_item(session, facts.item_no)
    department_name = session.scalar(
        select(Department.name).where(Department.code == facts.department_code)
    )
    return PaymentReceipt(
        order_no=facts.order_no,
        payer_name=facts.payer_name,
        resident_id_masked=facts.resident_id_masked,
        item=f"{facts.item_no} {item.name}"[:40],
        purpose=facts.purpose,
        department=" ".join(
            x for x in (department_name or facts.department_code, facts.unit_name) if x
        ),
        amount_minor=facts.amount_minor,
        paid_at=facts.paid_at,
        bank_name=PARTNER_BANKS.get(facts.bank_code, facts.bank_code),
        bank_account_masked=facts.bank_account_masked,
        end_to_end_id=facts.end_to_end_id,
        verification=verification_code(
            keys, order_no=facts.order_no, amount_minor=facts.amount_minor, paid_at=facts.paid_at
        ),
        refunded_at=facts.refunded_at,
    )
