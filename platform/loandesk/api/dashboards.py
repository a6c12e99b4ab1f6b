"""``/api/v1/dashboards``: dashboards (仪表盘) — saved reports on a 12-column grid with global
filters (date range, product, org unit, channel) and an auto-refresh interval — and the
default dashboard of each role. Running a dashboard runs each tile's report under the data
scope and field permissions of the staff member the client acts for. Needs ``reports:read``;
saving, changing and deleting dashboards and role defaults needs ``reports:write``."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.api.errors import translate_errors
from loandesk.api.reports import ReportResultSchema
from loandesk.api.schemas import PageArgs, page_of, paged
from loandesk.auth.oauth import require_token
from loandesk.errors import DomainError, NotFound
from loandesk.i18n import N_
from loandesk.rbac.current import acting_user
from loandesk.reports import dashboards
from loandesk.reports.dashboard_models import NAME_LENGTH, Dashboard
from loandesk.reports.datasets import GLOBAL_FILTERS

blp = Blueprint(
    "api_dashboards",
    __name__,
    url_prefix="/dashboards",
    description="Dashboards (仪表盘): saved reports (`/reports`) laid out as tiles on a "
    "12-column grid (a number card is a report of chart type `number`), with the global "
    "filters it offers (date range, product, org unit, channel) and how often a wall display "
    "refreshes it. A staff member sees their own, those shared with one of their roles, the "
    "default dashboard of one of their roles, and with `reports.manage` all. Running a "
    "dashboard runs each tile's report under the data scope and field permissions of the "
    "staff member the client acts for; a tile that cannot run for them (its report deleted, "
    "not shared with them, or using a field they may not see) carries an error instead, and "
    "a tile whose dataset does not support a chosen global filter runs without it and names "
    "it in `unfiltered`. Each role may have a default dashboard (`reports.manage`).",
)

TILE_HELP = (
    "Tiles on a 12-column grid: `report_id` (a saved report its author may see), `x` (0-11) "
    "and `w` (columns, x + w at most 12), `y` and `h` (rows); tiles may not overlap"
)


class TileSchema(ma.Schema):
    report_id = ma.fields.UUID(required=True)
    x = ma.fields.Integer(required=True, strict=True)
    y = ma.fields.Integer(required=True, strict=True)
    w = ma.fields.Integer(required=True, strict=True)
    h = ma.fields.Integer(required=True, strict=True)


class DashboardWriteSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=NAME_LENGTH))
    description = ma.fields.String(load_default="")
    tiles = ma.fields.List(
        ma.fields.Nested(TileSchema), load_default=list, metadata={"description": TILE_HELP}
    )
    filters = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={"description": f"The global filters it offers: {', '.join(GLOBAL_FILTERS)}"},
    )
    refresh_seconds = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "None, or refresh every 30 to 86400 seconds"},
    )
    shared_with_roles = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={"description": "Role keys whose holders may see and run the dashboard"},
    )


class DashboardSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    description = ma.fields.String()
    tiles = ma.fields.List(ma.fields.Dict(), metadata={"description": TILE_HELP})
    filters = ma.fields.List(ma.fields.String())
    refresh_seconds = ma.fields.Integer(allow_none=True)
    shared_with_roles = ma.fields.List(ma.fields.String())
    owner_id = ma.fields.UUID()
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


DashboardPage = page_of(DashboardSchema, "DashboardPage")


class RunArgsSchema(ma.Schema):
    date_from = ma.fields.Date(
        load_default=None, allow_none=True, metadata={"description": "First day, YYYY-MM-DD"}
    )
    date_to = ma.fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "Last day (included), YYYY-MM-DD, not before date_from"},
    )
    product = ma.fields.String(load_default=None, allow_none=True)
    org_unit = ma.fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "The unit and those below"}
    )
    channel = ma.fields.String(load_default=None, allow_none=True)


class TileErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()
    errors = ma.fields.Dict()


class TileResultSchema(ma.Schema):
    report_id = ma.fields.UUID()
    x = ma.fields.Integer()
    y = ma.fields.Integer()
    w = ma.fields.Integer()
    h = ma.fields.Integer()
    name = ma.fields.String(metadata={"description": "The report's name"})
    chart_type = ma.fields.String()
    unfiltered = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Chosen global filters the tile's dataset does not support"},
    )
    filters = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "The list filters the tile ran with: its report's and the global "
            "filters' (`created_at:ge:2026-02-01`); the records a drill-down shows"
        },
    )
    result = ma.fields.Nested(ReportResultSchema, metadata={"description": "When it ran"})
    error = ma.fields.Nested(
        TileErrorSchema,
        metadata={"description": "When it could not run for this staff member (e.g. deleted)"},
    )


class DashboardRunSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    tiles = ma.fields.List(ma.fields.Nested(TileResultSchema))


class RoleDefaultWriteSchema(ma.Schema):
    dashboard_id = ma.fields.UUID(required=True)


class RoleDefaultSchema(ma.Schema):
    role = ma.fields.String(metadata={"description": "The role's key"})
    dashboard_id = ma.fields.UUID()
    dashboard_name = ma.fields.String()


class RoleDefaultList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RoleDefaultSchema))


@blp.route("")
class Dashboards(MethodView):
    @require_token("reports:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DashboardPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The dashboards the acting staff member may see: their own, those shared with or
        the default of one of their roles (with `reports.manage`: all), by name, a page at a
        time."""
        return paged(dashboards.list_dashboards(extension.session(), acting_user()), args)

    @require_token("reports:write")
    @blp.arguments(DashboardWriteSchema)
    @blp.response(201, DashboardSchema)
    @blp.alt_response(409, description="A dashboard of this name exists")
    @blp.alt_response(
        422,
        description="Problems keyed by where: name, tiles.0.report_id, tiles.1, filters, "
        "refresh_seconds, shared_with_roles",
    )
    def post(self, args: dict[str, Any]) -> Dashboard:
        """Save a dashboard, owned by the acting staff member (its tiles naming reports they
        may see; audited)."""
        session = extension.session()
        row = dashboards.create(session, acting_user(), args)
        session.commit()
        return row


@blp.route("/default")
class DefaultDashboard(MethodView):
    @require_token("reports:read")
    @blp.response(200, DashboardSchema)
    @blp.alt_response(404, description="None of the staff member's roles has a default")
    def get(self) -> Dashboard:
        """The default dashboard of the acting staff member's roles (with several, that of
        the role whose key comes first)."""
        row = dashboards.default_for(extension.session(), acting_user())
        if row is None:
            raise NotFound(N_("None of your roles has a default dashboard."))
        return row


@blp.route("/role-defaults")
class RoleDefaults(MethodView):
    @require_token("reports:read")
    @blp.response(200, RoleDefaultList)
    def get(self) -> dict[str, Any]:
        """Every role's default dashboard, by role key."""
        found = dashboards.role_defaults(extension.session())
        return {
            "items": [
                {"role": role.key, "dashboard_id": row.id, "dashboard_name": row.name}
                for role, row in found
            ]
        }


@blp.route("/role-defaults/<string:role_key>")
class RoleDefault(MethodView):
    @require_token("reports:write")
    @blp.arguments(RoleDefaultWriteSchema)
    @blp.response(204)
    @blp.alt_response(403, description="Without `reports.manage`")
    @blp.alt_response(404, description="No such role or dashboard")
    def put(self, args: dict[str, Any], role_key: str) -> None:
        """Make a dashboard the default of a role (`reports.manage`; audited)."""
        session = extension.session()
        dashboards.set_default(session, acting_user(), role_key, args["dashboard_id"])
        session.commit()

    @require_token("reports:write")
    @blp.response(204)
    @blp.alt_response(403, description="Without `reports.manage`")
    @blp.alt_response(404, description="No such role")
    def delete(self, role_key: str) -> None:
        """Leave a role without a default dashboard (`reports.manage`; audited)."""
        session = extension.session()
        dashboards.set_default(session, acting_user(), role_key, None)
        session.commit()


@blp.route("/<uuid:dashboard_id>")
class OneDashboard(MethodView):
    @require_token("reports:read")
    @blp.response(200, DashboardSchema)
    def get(self, dashboard_id: uuid.UUID) -> Dashboard:
        """One dashboard."""
        return dashboards.get(extension.session(), acting_user(), dashboard_id)

    @require_token("reports:write")
    @blp.arguments(DashboardWriteSchema)
    @blp.response(200, DashboardSchema)
    @blp.alt_response(403, description="Neither its owner nor holding `reports.manage`")
    @blp.alt_response(422, description="Problems keyed by where, as on create")
    def put(self, args: dict[str, Any], dashboard_id: uuid.UUID) -> Dashboard:
        """Replace a dashboard (its owner, or who holds `reports.manage`; its version
        grows; audited)."""
        session = extension.session()
        user = acting_user()
        row = dashboards.update(session, user, dashboards.get(session, user, dashboard_id), args)
        session.commit()
        return row

    @require_token("reports:write")
    @blp.response(204)
    @blp.alt_response(403, description="Neither its owner nor holding `reports.manage`")
    def delete(self, dashboard_id: uuid.UUID) -> None:
        """Delete a dashboard and the role defaults it is (its owner, or who holds
        `reports.manage`; audited)."""
        session = extension.session()
        user = acting_user()
        dashboards.delete(session, user, dashboards.get(session, user, dashboard_id))
        session.commit()


@blp.route("/<uuid:dashboard_id>/run")
class RunDashboard(MethodView):
    @require_token("reports:read")
    @blp.arguments(RunArgsSchema)
    @blp.response(200, DashboardRunSchema)
    @blp.alt_response(
        422,
        description="Problems keyed by where: date_from (a date filter the dashboard does "
        "not offer), date_to (before date_from), product, org_unit, channel",
    )
    def post(self, args: dict[str, Any], dashboard_id: uuid.UUID) -> dict[str, Any]:
        """Run every tile of a dashboard with the global filter values given, under the
        acting staff member's data scope and field permissions: their numbers, tile by
        tile."""
        session = extension.session()
        user = acting_user()
        row = dashboards.get(session, user, dashboard_id)
        found = dashboards.run(session, user, row, dashboards.GlobalFilters(**args))
        for tile in found["tiles"]:
            if "error" in tile:
                tile["error"] = _shown(tile["error"])
        return found


def _shown(error: DomainError) -> dict[str, Any]:
    text = gettext(error.message, **error.params) if error.params else gettext(error.message)
    return {"code": error.code, "message": text, "errors": translate_errors(error.errors)}
