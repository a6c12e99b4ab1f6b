"""Dashboard pages (看板): the dashboards a staff member may see, one dashboard's grid of
report tiles under global filters (re-rendered by htmx, polled when it refreshes itself, in
full screen or as a wall display), the editor (tiles in order, auto-placed on the 12-column
grid), and each role's default dashboard. ``loandesk.reports.dashboards`` checks, runs and
audits; these pages only show. Tiles are drawn by the reports' ``chart`` macro
(templates/reports/_chart.html)."""

from __future__ import annotations

from flask import Blueprint

bp: Blueprint = Blueprint("dashboards", __name__, url_prefix="/dashboards")

from loandesk.web.dashboard_views import pages  # noqa: E402,F401  (registers the routes)

__all__ = ["bp"]
