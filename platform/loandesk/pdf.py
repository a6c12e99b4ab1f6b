"""HTML to PDF with WeasyPrint, with the CJK font shipped in the core (Noto Serif SC,
SIL OFL 1.1, ``fonts/``) loaded through ``@font-face``, so Chinese renders on a server with
no CJK font installed (private installs are often offline). Plugins reach it as
``sdk.html_to_pdf`` (contracts, the assets plugin's litigation dossier and demand letter).

WeasyPrint may fetch nothing else: a template may be written by a tenant admin, and a
``url()`` to an internal address would make the server fetch it (SSRF). Images come as
``data:`` URIs (the letterhead's logo)."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

FONT_FILE = Path(__file__).parent / "fonts" / "NotoSerifSC-Regular.subset.woff2"
FONT_URL = "https://fonts.loandesk.invalid/contract-serif.ttf"  # answered from memory below
FONT_FAMILY = "LoanDesk Serif SC"
FONT_FACE = f"""
@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{FONT_URL}"); }}
"""


class RefusedFetch(ValueError):
    pass


@functools.cache
def _font_bytes() -> bytes:
    """The font as TTF, decompressed once per process (WeasyPrint would otherwise decode
    the WOFF2 again for every document)."""
    from fontTools.ttLib import woff2

    out = io.BytesIO()
    with FONT_FILE.open("rb") as source:
        woff2.decompress(source, out)
    return out.getvalue()


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class Fetcher(URLFetcher):
        """The shipped font from memory, ``data:`` URIs, nothing else."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url == FONT_URL:
                return URLFetcherResponse(url, _font_bytes(), {"Content-Type": "font/ttf"})
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise RefusedFetch(f"PDF documents fetch nothing from outside ({url[:60]})")

    return Fetcher(allowed_protocols=("data",))


def to_pdf(html: str, css: str = "") -> bytes:
    """The PDF of ``html`` styled by ``css`` (the template's) after the font face."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _fetcher()
    fonts = FontConfiguration()  # @font-face rules load only through one of these
    sheets = [
        CSS(string=FONT_FACE, url_fetcher=fetcher, font_config=fonts),
        CSS(string=css, url_fetcher=fetcher, font_config=fonts),
    ]
    document = HTML(string=html, url_fetcher=fetcher, base_url="about:blank")
    return bytes(document.write_pdf(stylesheets=sheets, font_config=fonts))
