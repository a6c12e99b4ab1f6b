"""Contract PDFs: the core's HTML to PDF (``sdk.html_to_pdf``, with the shipped CJK font),
under the names this plugin's modules use."""

from __future__ import annotations

from loandesk.sdk import PDF_FONT_FAMILY as FONT_FAMILY
from loandesk.sdk import PdfRefusedFetch as RefusedFetch
from loandesk.sdk import html_to_pdf as to_pdf

__all__ = ["FONT_FAMILY", "RefusedFetch", "to_pdf"]
