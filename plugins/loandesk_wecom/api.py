"""``/api/v1/wecom/staff``: which WeCom userid each staff member is (admins with
plugins.manage; the settings' secrets are never part of it)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_wecom import staff

blp = Blueprint(
    "wecom",
    __name__,
    url_prefix="/wecom",
    description="WeCom (企业微信): staff members' WeCom userids for app messages.",
)


class WeComStaffSchema(ma.Schema):
    user_id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(dump_only=True)
    wecom_userid = ma.fields.String(
        allow_none=True,
        metadata={"description": "The member's account (UserID) in WeCom; null: none"},
    )


class WeComStaffUpdateSchema(ma.Schema):
    wecom_userid = ma.fields.String(required=True, allow_none=True)


def _check_permission() -> None:
    try:
        user = sdk.acting_user()
    except sdk.Forbidden:
        return  # the tenant's admin client acting for nobody: its plugins scope suffices
    if user is not None and not user.can("plugins.manage"):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."),
            params={"permission": "plugins.manage"},
        )


@blp.route("/staff")
class StaffAccounts(MethodView):
    @sdk.require_token("plugins:read")
    @blp.response(200, WeComStaffSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every active staff member with their WeCom userid (null when not mapped)."""
        _check_permission()
        return staff.accounts(sdk.session())


@blp.route("/staff/<uuid:user_id>")
class StaffAccount(MethodView):
    @sdk.require_token("plugins:write")
    @blp.arguments(WeComStaffUpdateSchema)
    @blp.response(200, WeComStaffSchema)
    @blp.alt_response(404, description="No such active staff member")
    def put(self, args: dict[str, Any], user_id: uuid.UUID) -> dict[str, Any]:
        """Set (or with null remove) a staff member's WeCom userid; audited."""
        _check_permission()
        session = sdk.session()
        staff.set_account(session, user_id, args["wecom_userid"])
        session.commit()
        return next(a for a in staff.accounts(session) if a["user_id"] == user_id)
