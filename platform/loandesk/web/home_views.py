"""The tenant's home page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template
from sqlalchemy import func, select

from loandesk import extension
from loandesk.auth.models import ApiClient, User
from loandesk.reports import dashboards
from loandesk.web.auth_views import login_required

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    session = extension.session()
    counts = {
        status: n
        for status, n in session.execute(select(User.status, func.count()).group_by(User.status))
    }
    active_clients = session.scalar(
        select(func.count()).select_from(ApiClient).where(ApiClient.revoked_at.is_(None))
    )
    return render_template(
        "home.html",
        user_counts=counts,
        active_clients=active_clients or 0,
        my_dashboard=dashboards.default_for(session, g.user),  # a link, not run: one query
    )
