"""``/api/v1/dingtalk/staff``: which DingTalk userid each staff member is (admins with
plugins.manage; the settings' secrets are never part of it). The routes and the mapping are
the core's (``sdk.staff_account_routes``, ``staff_external_accounts``)."""

from __future__ import annotations

from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_dingtalk import staff

blp = Blueprint(
    "dingtalk",
    __name__,
    url_prefix="/dingtalk",
    description="DingTalk (钉钉): staff members' DingTalk userids for work notifications.",
)
sdk.staff_account_routes(blp, staff.KIND, schema="StaffAccount",
                         described="The userid in DingTalk")  # fmt: skip
