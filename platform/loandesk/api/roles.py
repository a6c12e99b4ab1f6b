"""``/api/v1/roles`` and ``/api/v1/permissions``: roles of the tenant and what they grant."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.fields.current import tenant_record_type
from loandesk.fields.registry import ACCESS_LEVELS, SCOPES
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac import grants
from loandesk.rbac import service as rbac
from loandesk.rbac.catalog import ADMIN_ROLE
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


class RecordAccessSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # what GET returns can be PUT back as it is

    record_type = ma.fields.String(dump_only=True)
    scope = ma.fields.String(
        required=True,
        allow_none=True,
        validate=ma.validate.OneOf(SCOPES),
        metadata={"description": "own, team, unit (and below) or all; null takes access away"},
    )
    field_access = ma.fields.Dict(
        data_key="fields",
        keys=ma.fields.String(),
        values=ma.fields.String(validate=ma.validate.OneOf(ACCESS_LEVELS)),
        load_default=dict,
        metadata={"description": "field key → hidden, masked, view or edit; unnamed: hidden"},
    )
    export = ma.fields.List(
        ma.fields.String(), load_default=list, metadata={"description": "Fields it may export"}
    )


@blp.route("/roles/<uuid:role_id>/record-access")
class RoleRecordAccessList(MethodView):
    @require_token("roles:read")
    @blp.response(200, RecordAccessSchema(many=True))
    def get(self, role_id: uuid.UUID) -> list[dict[str, Any]]:
        """The role's data scope, field permissions and export grants per record type of the
        tenant's enabled plugins (scope null: no access)."""
        role = rbac.get_role(extension.session(), role_id)
        rows = grants.grants_of(extension.session(), role)
        return [
            _grant(t, rows.get(t.key), role)
            for t in map(tenant_record_type, plugin_runtime.record_types())
        ]


@blp.route("/roles/<uuid:role_id>/record-access/<record_type>")
class RoleRecordAccessOne(MethodView):
    @require_token("roles:write")
    @blp.arguments(RecordAccessSchema)
    @blp.response(200, RecordAccessSchema)
    @blp.alt_response(409, description="The tenant admin's access cannot change")
    def put(self, args: dict[str, Any], role_id: uuid.UUID, record_type: str) -> dict[str, Any]:
        """Set exactly this access for the role (fields not named become hidden)."""
        role = rbac.get_role(extension.session(), role_id)
        declared = tenant_record_type(record_type)
        row = grants.set_grant(
            extension.session(),
            role,
            declared,
            scope=args["scope"],
            fields=args["field_access"],
            export=args["export"],
        )
        extension.session().commit()
        return _grant(declared, row, role)


def _grant(record_type: Any, row: Any, role: Role) -> dict[str, Any]:
    if role.key == ADMIN_ROLE:
        keys = list(record_type.field_keys)
        return {
            "record_type": record_type.key,
            "scope": "all",
            "field_access": dict.fromkeys(keys, "edit"),
            "export": keys,
        }
    if row is None:
        return {"record_type": record_type.key, "scope": None, "field_access": {}, "export": []}
    return {
        "record_type": record_type.key,
        "scope": row.scope,
        "field_access": {k: row.fields.get(k, "hidden") for k in record_type.field_keys},
        "export": list(row.export),
    }
