"""The staff ↔ provider account routes a plugin mounts on its own blueprint
(``staff_routes``): ``GET <prefix>/staff`` lists the active staff with their id at the
provider, ``PUT <prefix>/staff/<user id>`` sets or (with null) removes one. Scopes
``plugins:read`` / ``plugins:write``; a client acting for a staff member needs
``plugins.manage``. The data is ``loandesk.auth.external_accounts``."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk.auth.external_accounts import AccountKind, link_staff, staff_accounts
from loandesk.auth.oauth import require_token
from loandesk.errors import Forbidden
from loandesk.extension import session as db_session
from loandesk.i18n import N_
from loandesk.rbac.current import acting_user


def _check_permission() -> None:
    try:
        user = acting_user()
    except Forbidden:
        return  # the tenant's admin client acting for nobody: its plugins scope suffices
    if user is not None and not user.can("plugins.manage"):
        raise Forbidden(
            N_("You lack the permission %(permission)s."), params={"permission": "plugins.manage"}
        )


def staff_routes(blp: Blueprint, kind: AccountKind, *, schema: str, described: str) -> None:
    """Add the two routes to ``blp``. ``schema`` names the OpenAPI schemas (``<schema>`` and
    ``<schema>Update``), ``described`` describes the id (``"The userid in DingTalk"``)."""
    shown = ma.Schema.from_dict(
        {
            "user_id": ma.fields.UUID(dump_only=True),
            "name": ma.fields.String(dump_only=True),
            kind.field: ma.fields.String(
                allow_none=True, metadata={"description": f"{described}; null: none"}
            ),
        },
        name=f"{schema}Schema",
    )
    update = ma.Schema.from_dict(
        {kind.field: ma.fields.String(required=True, allow_none=True)},
        name=f"{schema}UpdateSchema",
    )

    @blp.route("/staff")
    class StaffAccounts(MethodView):
        @require_token("plugins:read")
        @blp.response(200, shown(many=True))
        def get(self) -> list[dict[str, Any]]:
            """Every active staff member with their id at the provider (null when none)."""
            _check_permission()
            return staff_accounts(db_session(), kind)

    @blp.route("/staff/<uuid:user_id>")
    class StaffAccount(MethodView):
        @require_token("plugins:write")
        @blp.arguments(update)
        @blp.response(200, shown)
        @blp.alt_response(404, description="No such active staff member")
        @blp.alt_response(422, description="A malformed id, or one linked to another staff member")
        def put(self, args: dict[str, Any], user_id: uuid.UUID) -> dict[str, Any]:
            """Set (or with null remove) a staff member's id at the provider; audited."""
            _check_permission()
            session = db_session()
            link_staff(session, kind, user_id, args[kind.field])
            session.commit()
            return next(a for a in staff_accounts(session, kind) if a["user_id"] == user_id)
