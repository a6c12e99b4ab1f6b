"""``/api/v1/wecom/staff``: which WeCom userid each staff member is (admins with
plugins.manage; the settings' secrets are never part of it). The routes and the mapping are
the core's (``sdk.staff_account_routes``, ``staff_external_accounts``)."""

from __future__ import annotations

from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_wecom import staff

blp = Blueprint(
    "wecom",
    __name__,
    url_prefix="/wecom",
    description="WeCom (企业微信): staff members' WeCom userids for app messages.",
)
sdk.staff_account_routes(blp, staff.KIND, schema="WeComStaff",
                         described="The member's account (UserID) in WeCom")  # fmt: skip
