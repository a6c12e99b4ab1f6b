"""Links from a row that names a business record (a notification, a message to a borrower) to
that record's page."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import get_locale
from werkzeug.routing import BuildError

from loandesk.errors import NotFound
from loandesk.plugins import runtime


def record_link(record_type: str | None, record_id: str | None) -> tuple[str, str | None]:
    """The record type's label in the page's language and the record's page; the page is None
    when the record type has none or its plugin is off now (the label is then its key)."""
    if not record_type:
        return "", None
    try:
        declared = runtime.record_type(record_type)
    except NotFound:
        return record_type, None
    label = declared.label(str(get_locale() or "zh"))
    if declared.detail_endpoint is None or not record_id:
        return label, None
    try:
        arguments: dict[str, Any] = {f"{declared.key}_id": record_id}
        return label, url_for(declared.detail_endpoint, **arguments)
    except BuildError:
        return label, None
