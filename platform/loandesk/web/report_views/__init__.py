"""Report pages (报表): the saved reports a staff member may see, the designer (pick a dataset,
click or drag dimensions and measures, filters, sort, limit and chart; the result redrawn on
every change; save and share with roles) and a saved report, drawn with Apache ECharts
(static/vendor/echarts, static/js/reports.js) and drilling down to the records; the
built-in reports of the tenant's plugins (``builtins``), the export buttons, and a saved
report's e-mail schedule (``schedules``).

``templates/reports/_chart.html``'s ``chart`` macro draws any report result; other pages
(dashboards) import it. It calls the ``report_chart`` template global (``display.shown``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

bp: Blueprint = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_global("report_chart")
def report_chart(result: Any, chart_type: str, drill_url: str | None = None) -> Any:
    from loandesk.web.report_views import display

    return display.shown(result, chart_type, drill_url)


@bp.app_template_global("report_drill_url")
def report_drill_url(dataset: str, spec: Any) -> str | None:
    from loandesk.web.report_views import display

    return display.drill_base(dataset, spec or {})


from loandesk.web.report_views import (  # noqa: E402,F401  (registers the routes)
    builtins,
    pages,
    schedules,
)
from loandesk.web.report_views.pages import can_report  # noqa: E402

__all__ = ["bp", "can_report"]
