"""``/api/v1/roles`` and ``/api/v1/permissions``: roles of the tenant and what they grant."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac import service as rbac
from loandesk.rbac.models import Role

blp = Blueprint("api_roles", __name__, url_prefix="", description="Roles and permissions.")


class RoleSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    key = ma.fields.String(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    description = ma.fields.String(load_default="")
    builtin = ma.fields.Boolean(dump_only=True)
    permissions = ma.fields.List(ma.fields.String(), load_default=list)


class RoleUpdateSchema(ma.Schema):
    name_zh = ma.fields.String()
    name_en = ma.fields.String()
    description = ma.fields.String()
    permissions = ma.fields.List(ma.fields.String())


class PermissionSchema(ma.Schema):
    name = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()


def _available() -> frozenset[str]:
    return frozenset(p.name for p in plugin_runtime.grantable_permissions())


@blp.route("/permissions")
class Permissions(MethodView):
    @require_token("roles:read")
    @blp.response(200, PermissionSchema(many=True))
    def get(self) -> list[Any]:
        """Every permission this tenant can grant (the core's and its enabled plugins')."""
        return plugin_runtime.grantable_permissions()


@blp.route("/roles")
class Roles(MethodView):
    @require_token("roles:read")
    @blp.response(200, RoleSchema(many=True))
    def get(self) -> list[Role]:
        """The tenant's roles, built-in ones first."""
        return rbac.list_roles(extension.session())

    @require_token("roles:write")
    @blp.arguments(RoleSchema)
    @blp.response(201, RoleSchema)
    @blp.alt_response(409, description="The key is taken")
    def post(self, args: dict[str, Any]) -> Role:
        """A custom role."""
        role = rbac.create_role(extension.session(), available=_available(), **args)
        extension.session().commit()
        return role


@blp.route("/roles/<uuid:role_id>")
class RoleById(MethodView):
    @require_token("roles:read")
    @blp.response(200, RoleSchema)
    def get(self, role_id: uuid.UUID) -> Role:
        """One role."""
        return rbac.get_role(extension.session(), role_id)

    @require_token("roles:write")
    @blp.arguments(RoleUpdateSchema)
    @blp.response(200, RoleSchema)
    def patch(self, args: dict[str, Any], role_id: uuid.UUID) -> Role:
        """Rename a role or change its permissions."""
        role = rbac.update_role(
            extension.session(),
            rbac.get_role(extension.session(), role_id),
            available=_available(),
            **args,
        )
        extension.session().commit()
        return role

    @require_token("roles:write")
    @blp.response(204)
    @blp.alt_response(409, description="Built-in, or held by staff")
    def delete(self, role_id: uuid.UUID) -> None:
        """Delete a custom role nobody holds."""
        rbac.delete_role(extension.session(), rbac.get_role(extension.session(), role_id))
        extension.session().commit()
