"""The packaged font has a glyph for every character the insurance documents print: their own
labels and the labels stored in the figures (schemes, statuses, sources, titles)."""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFontFile

from socialcard.reports.evaluation_pdf import FONT_FILE

ROOT = Path(__file__).resolve().parents[3]
SOURCES = (
    "src/socialcard/reports/insurance_documents.py",
    "src/socialcard/insurance/documents.py",
    "src/socialcard/insurance/errors.py",
    "src/socialcard/insurance/schemes.py",
)


def test_the_font_covers_every_label_of_the_insurance_documents() -> None:
    font = TTFontFile(str(ROOT / "src/socialcard/reports/fonts" / FONT_FILE))
    text = "".join((ROOT / source).read_text("utf-8") for source in SOURCES)
    missing = {c for c in text if ord(c) >= 0x20 and ord(c) not in font.charToGlyph}
    assert not missing


def test_the_font_covers_rare_characters_of_personal_names() -> None:
    """Names print on certificates: characters GB2312 lacks but names use (堃 珺 玥 喆 赟 …)
    must not come out as boxes."""
    font = TTFontFile(str(ROOT / "src/socialcard/reports/fonts" / FONT_FILE))
    names = "王珺 李堃 张玥 陈喆 刘赟 赵犇 孙垚 周昇 吴琤 郑璟 冯旻 褚祎 卫玙 蒋瑄 沈堉 韩嫚"
    missing = {c for c in names if c != " " and ord(c) not in font.charToGlyph}
    assert not missing
