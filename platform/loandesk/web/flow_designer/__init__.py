"""The approval flow designer (审批流程设计): an admin (``flows.manage``) draws a record type's
flow as a tree, like DingTalk's and Feishu's designers: cards top to bottom, a "+" between
any two to insert an approver, a condition branch, a CC, an automation or an end; a side panel
to set the selected node; problems shown on the cards they concern; a test run that lights up
the path a sample record would take; publishing, and the versions published so far.

A thin adapter over ``loandesk.flows.definitions``: the draft is edited here as JSON by the
pure functions of ``edit`` and saved whole through ``save_draft`` after every change, which
audits it and says what publishing would refuse.
"""

from flask import Blueprint

bp = Blueprint("admin_flows", __name__, url_prefix="/admin/flows")

# The routes register themselves on ``bp``.
from loandesk.web.flow_designer import pages, run  # noqa: E402,F401
