"""Rebuild the CJK font the contracts plugin renders PDFs with (offline, no system font).

Source: Noto Serif SC 400 Regular (SIL OFL 1.1) from the npm package
``@expo-google-fonts/noto-serif-sc@0.4.3`` (``400Regular/NotoSerifSC_400Regular.ttf``).

Coverage: ASCII and Latin-1, general punctuation, arrows, enclosed numbers, CJK symbols and
punctuation, half- and full-width forms, the whole CJK Unified Ideographs block (U+4E00-9FFF),
Extension A (U+3400-4DBF) and what the font has of Extensions B-F. The Table of General
Standard Chinese Characters (通用规范汉字表, 8105 characters) has characters in all three
(e.g. 䶮 in Extension A), so every name written with it renders.

The output is WOFF2 without the glyf/loca transform: half the TTF's size, and decompressing
it is a plain Brotli decode (a fraction of a second) instead of rebuilding 30,000 outlines.

    python -m venv /tmp/ftv && /tmp/ftv/bin/pip install fonttools brotli
    /tmp/ftv/bin/python scripts/build_contract_font.py path/to/NotoSerifSC_400Regular.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.woff2 import WOFF2FlavorData

RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x00FF),
    (0x2000, 0x206F),
    (0x2100, 0x214F),
    (0x2190, 0x21FF),
    (0x2460, 0x24FF),
    (0x25A0, 0x25FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3200, 0x33FF),
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x2FA1F),  # Extensions B-F: only what the font has
)
OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "platform/loandesk/fonts/NotoSerifSC-Regular.subset.woff2"
)


def main(source: str) -> None:
    font = TTFont(source)
    options = subset.Options()
    options.hinting = False  # hints do nothing for print; they are a third of the file
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for low, high in RANGES for cp in range(low, high + 1)])
    subsetter.subset(font)
    font.flavor = "woff2"
    font.flavorData = WOFF2FlavorData(transformedTables=())
    font.save(str(OUTPUT))
    print(f"{OUTPUT}: {OUTPUT.stat().st_size:,} bytes, {len(font.getBestCmap()):,} characters")


if __name__ == "__main__":
    main(sys.argv[1])
