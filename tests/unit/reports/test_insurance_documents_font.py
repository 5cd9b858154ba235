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
