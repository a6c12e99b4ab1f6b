"""Automation rules for admins (自动化规则, ``automations.manage``): the rules list with an
enabled toggle and each rule's last run, the rule form (record type, trigger, a condition
with the flow designer's builder, actions with their parameters; dependent parts refreshed by
htmx), a dry run against one record, the run log with its retry button, and the webhook
secret. A thin adapter over ``loandesk.automations`` (``service``, ``engine.retry``,
``signing``)."""

from flask import Blueprint

bp = Blueprint("admin_automations", __name__, url_prefix="/admin/automations")

from loandesk.web.automation_views import pages, runs, secret  # noqa: E402,F401
