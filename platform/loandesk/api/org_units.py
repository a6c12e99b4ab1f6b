"""``/api/v1/org-units``: the tenant's organisation tree (组织架构)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac import org
from loandesk.rbac.models import OrgUnit

blp = Blueprint(
    "api_org_units",
    __name__,
    url_prefix="/org-units",
    description="The organisation: company → branches → teams, each with a head. Data scopes "
    "'team' and 'unit' read it.",
)


class OrgUnitSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    parent_id = ma.fields.UUID(allow_none=True, metadata={"description": "None for the company"})
    name = ma.fields.String()
    kind = ma.fields.String(
        validate=validate.OneOf(org.KINDS), metadata={"description": "company, branch or team"}
    )
    head_user_id = ma.fields.UUID(allow_none=True)
    position = ma.fields.Integer(validate=validate.Range(min=0, max=10_000))
    depth = ma.fields.Integer(dump_only=True)
    staff = ma.fields.Integer(dump_only=True, metadata={"description": "Active staff in it"})


class OrgUnitCreateSchema(ma.Schema):
    parent_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(("branch", "team")))
    head_user_id = ma.fields.UUID(load_default=None, allow_none=True)
    position = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000))


class OrgUnitUpdateSchema(ma.Schema):
    parent_id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.String(validate=validate.OneOf(org.KINDS))
    head_user_id = ma.fields.UUID(allow_none=True)
    position = ma.fields.Integer(validate=validate.Range(min=0, max=10_000))


OrgUnitList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(OrgUnitSchema))}, name="OrgUnitList"
)


def _dump(unit: OrgUnit, depth: int, staff: dict[uuid.UUID, int]) -> dict[str, Any]:
    return {
        "id": unit.id,
        "parent_id": unit.parent_id,
        "name": unit.name,
        "kind": unit.kind,
        "head_user_id": unit.head_user_id,
        "position": unit.position,
        "depth": depth,
        "staff": staff.get(unit.id, 0),
    }


def _one(unit: OrgUnit) -> dict[str, Any]:
    session = extension.session()
    tree = org.Tree.load(session)
    return _dump(unit, len(tree.path(unit.id)) - 1, org.staff_counts(session))


@blp.route("")
class OrgUnits(MethodView):
    @require_token("org-units:read")
    @blp.response(200, OrgUnitList)
    def get(self) -> dict[str, Any]:
        """Every unit, parents before children (a tenant has tens to hundreds, so the whole
        tree comes in one response), with its depth and staff count."""
        session = extension.session()
        staff = org.staff_counts(session)
        return {"items": [_dump(u, d, staff) for d, u in org.Tree.load(session).walk()]}

    @require_token("org-units:write")
    @blp.arguments(OrgUnitCreateSchema)
    @blp.response(201, OrgUnitSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """A branch or team below ``parent_id``."""
        unit = org.create_unit(extension.session(), **args)
        extension.session().commit()
        return _one(unit)


@blp.route("/<uuid:unit_id>")
class OrgUnitById(MethodView):
    @require_token("org-units:read")
    @blp.response(200, OrgUnitSchema)
    def get(self, unit_id: uuid.UUID) -> dict[str, Any]:
        """One unit."""
        return _one(org.get_unit(extension.session(), unit_id))

    @require_token("org-units:write")
    @blp.arguments(OrgUnitUpdateSchema)
    @blp.response(200, OrgUnitSchema)
    def patch(self, args: dict[str, Any], unit_id: uuid.UUID) -> dict[str, Any]:
        """Rename, re-head (``head_user_id: null`` removes the head), re-order or move."""
        unit = org.update_unit(
            extension.session(), org.get_unit(extension.session(), unit_id), **args
        )
        extension.session().commit()
        return _one(unit)

    @require_token("org-units:write")
    @blp.response(204)
    @blp.alt_response(409, description="The company, or a unit that still holds something")
    def delete(self, unit_id: uuid.UUID) -> None:
        """Delete a unit that holds no units, staff or records."""
        unit = org.get_unit(extension.session(), unit_id)
        org.delete_unit(extension.session(), unit, plugin_runtime.record_types())
        extension.session().commit()
