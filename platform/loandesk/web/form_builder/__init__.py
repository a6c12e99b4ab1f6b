"""The form builder (字段与表单): admins add custom fields and sections to the tenant's record
types, arrange them by drag and drop (or up/down buttons), preview the form staff will fill,
and publish it as the next version.

A thin adapter over ``loandesk.fields.definitions``: every check, every audit event and every
version is the service's; these views turn form posts into its calls and its
``ValidationFailed`` errors into messages next to the inputs.
"""

from flask import Blueprint

bp = Blueprint("admin_forms", __name__, url_prefix="/admin/forms")

# The routes register themselves on ``bp``.
from loandesk.web.form_builder import fields, pages, preview  # noqa: E402,F401
