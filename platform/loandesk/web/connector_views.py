"""Administration → Connectors (连接器): the tenant's connectors with their state, last
success and last error, and a test button (htmx) that re-renders the connector's row."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import get_locale

from loandesk import extension
from loandesk.connectors import service
from loandesk.errors import NotFound
from loandesk.web.auth_views import permission_required
from loandesk.web.htmx import htmx

bp = Blueprint("admin_connectors", __name__, url_prefix="/admin/connectors")
MANAGE = "plugins.manage"


@bp.get("", endpoint="index")
@permission_required(MANAGE)
def index() -> Any:
    items = service.listed(extension.session())
    return render_template(
        "admin/connectors/index.html", items=items, locale=str(get_locale() or "zh")
    )


@bp.post("/<key>/test", endpoint="test")
@permission_required(MANAGE)
def test(key: str) -> Any:
    """Test one connector; htmx swaps its row, a plain post reloads the page."""
    session = extension.session()
    try:
        item = service.run_test(session, key)
    except NotFound:
        abort(404)
    session.commit()
    if htmx:
        return render_template(
            "admin/connectors/_row.html", item=item, locale=str(get_locale() or "zh"), tested=True
        )
    return redirect(url_for("tenant.admin_connectors.index"))
