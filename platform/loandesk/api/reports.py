"""``/api/v1/reports``: reports over the datasets plugins register (报表) — group a dataset's
records by dimensions and compute measures, in one SQL aggregate query run under the data
scope and field permissions of the staff member the client acts for — and saved reports
(保存的报表), shared with roles and run under their viewer's access. Needs ``reports:read``;
saving, changing and deleting reports needs ``reports:write``."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.api.lists import FILTER_HELP
from loandesk.api.schemas import PageArgs, page_of, paged
from loandesk.auth.oauth import require_token
from loandesk.imports.sheets import XLSX_MIMETYPE
from loandesk.rbac.current import acting_user
from loandesk.reports import builtin, export, saved, service, subscriptions
from loandesk.reports.models import CHART_TYPES, NAME_LENGTH, Report
from loandesk.reports.query import MAX_LIMIT
from loandesk.tenancy import current
from loandesk.web.report_export_views import file_response

blp = Blueprint(
    "api_reports",
    __name__,
    url_prefix="/reports",
    description="Reports (报表): a dataset (registered by a plugin: `intake.applications`, "
    "`customers.customers`), dimensions to group by (date fields by day, week, month, "
    "quarter or year in the tenant's time zone), measures (counts, sums, averages, minima, "
    "maxima, ratios such as the approval rate) and filters. Reports can be saved with a "
    "chart type and shared with roles; a staff member sees their own, those shared with one "
    "of their roles, and with `reports.manage` all. A report runs as one SQL "
    "aggregate query under the data scope and field permissions of the staff member the "
    "client acts for: only their records count, and a field they may not see (or see "
    "masked) is neither offered nor accepted. Money and ratios are decimal strings.",
)


class ReportLabelledSchema(ma.Schema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()


class ReportOptionSchema(ma.Schema):
    value = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()


class ReportDimensionSchema(ReportLabelledSchema):
    kind = ma.fields.String(metadata={"description": "The field's kind: select, user, date, …"})
    buckets = ma.fields.List(
        ma.fields.String(), metadata={"description": "Buckets a date dimension groups by"}
    )
    options = ma.fields.List(
        ma.fields.Nested(ReportOptionSchema),
        metadata={"description": "A select's values and their labels (rows hold the values)"},
    )


class ReportMeasureSchema(ReportLabelledSchema):
    aggregate = ma.fields.String(
        metadata={"description": "count, count_distinct, sum, avg, min, max or ratio"}
    )


class ReportFilterSchema(ReportLabelledSchema):
    operators = ma.fields.List(ma.fields.String())


class ReportDatasetSchema(ReportLabelledSchema):
    description_zh = ma.fields.String()
    description_en = ma.fields.String()
    record_type = ma.fields.String()
    dimensions = ma.fields.List(ma.fields.Nested(ReportDimensionSchema))
    measures = ma.fields.List(ma.fields.Nested(ReportMeasureSchema))
    filters = ma.fields.List(ma.fields.Nested(ReportFilterSchema))


class ReportDatasetList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReportDatasetSchema))


class ReportSpecSchema(ma.Schema):
    dimensions = ma.fields.List(
        ma.fields.Raw(),
        load_default=list,
        metadata={
            "description": 'What to group by, in order: `{"key": "status"}`, or for a date '
            '`{"key": "created_at", "bucket": "month"}` (day, week, month, quarter, '
            "year; default day). At most 5."
        },
    )
    measures = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": 'Measure keys of the dataset, e.g. `["count", "amount_sum"]`'},
    )
    filters = ma.fields.List(
        ma.fields.String(), load_default=list, metadata={"description": FILTER_HELP}
    )
    sort = ma.fields.String(
        load_default="",
        metadata={
            "description": "A dimension or measure key, `-` first for descending; then by "
            "the dimensions"
        },
    )
    limit = ma.fields.Integer(
        load_default=MAX_LIMIT, metadata={"description": f"Rows at most, 1 to {MAX_LIMIT}"}
    )


class ReportQuerySchema(ReportSpecSchema):
    dataset = ma.fields.String(required=True, metadata={"description": "e.g. intake.applications"})


class SavedReportWriteSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=NAME_LENGTH))
    description = ma.fields.String(load_default="")
    dataset = ma.fields.String(required=True, metadata={"description": "e.g. intake.applications"})
    spec = ma.fields.Nested(
        ReportSpecSchema,
        required=True,
        metadata={"description": "dimensions, measures, filters, sort, limit as for /query"},
    )
    chart_type = ma.fields.String(
        load_default="table", metadata={"description": ", ".join(CHART_TYPES)}
    )
    shared_with_roles = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={"description": "Role keys whose holders may see and run the report"},
    )


class SavedReportSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    description = ma.fields.String()
    dataset = ma.fields.String()
    spec = ma.fields.Dict()
    chart_type = ma.fields.String()
    shared_with_roles = ma.fields.List(ma.fields.String())
    owner_id = ma.fields.UUID()
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


SavedReportPage = page_of(SavedReportSchema, "SavedReportPage")


class ReportColumnSchema(ma.Schema):
    key = ma.fields.String()
    role = ma.fields.String(metadata={"description": "dimension or measure"})
    bucket = ma.fields.String(allow_none=True)


class ReportResultSchema(ma.Schema):
    dataset = ma.fields.String()
    columns = ma.fields.List(ma.fields.Nested(ReportColumnSchema))
    rows = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "One object per group, keyed by the columns: a date bucket as the "
            "first day (`2026-03-01`), a unit or staff member as its id, money and ratios as "
            'decimal strings (`"12500.00"`, `"0.6667"`), counts as integers; no value: null'
        },
    )


@blp.route("/datasets")
class Datasets(MethodView):
    @require_token("reports:read")
    @blp.response(200, ReportDatasetList)
    def get(self) -> dict[str, Any]:
        """The datasets the acting staff member may report on, each with the dimensions,
        measures and filters they may use."""
        return {"items": [c.describe() for c in service.catalogs()]}


@blp.route("/query")
class Query(MethodView):
    @require_token("reports:read")
    @blp.arguments(ReportQuerySchema)
    @blp.response(200, ReportResultSchema)
    @blp.alt_response(
        422,
        description="Problems keyed by where: dataset, dimensions.0, measures.1, filter.0, "
        "sort, limit",
    )
    def post(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run a report: its rows, grouped and computed in one SQL query."""
        return service.run(spec)


@blp.route("")
class SavedReports(MethodView):
    @require_token("reports:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SavedReportPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The saved reports the acting staff member may see: their own, those shared with
        one of their roles (with `reports.manage`: all), by name, a page at a time."""
        return paged(saved.list_reports(extension.session(), acting_user()), args)

    @require_token("reports:write")
    @blp.arguments(SavedReportWriteSchema)
    @blp.response(201, SavedReportSchema)
    @blp.alt_response(409, description="A report of this name exists")
    @blp.alt_response(
        422,
        description="Problems keyed by where: name, dataset, spec.dimensions.0, "
        "spec.measures.1, spec.filter.0, spec.sort, spec.limit, chart_type, shared_with_roles",
    )
    def post(self, args: dict[str, Any]) -> Report:
        """Save a report, owned by the acting staff member (its spec checked against what
        they may use; audited)."""
        session = extension.session()
        row = saved.create(session, acting_user(), args)
        session.commit()
        return row


@blp.route("/<uuid:report_id>")
class SavedReport(MethodView):
    @require_token("reports:read")
    @blp.response(200, SavedReportSchema)
    def get(self, report_id: uuid.UUID) -> Report:
        """One saved report."""
        return saved.get(extension.session(), acting_user(), report_id)

    @require_token("reports:write")
    @blp.arguments(SavedReportWriteSchema)
    @blp.response(200, SavedReportSchema)
    @blp.alt_response(403, description="Neither its owner nor holding `reports.manage`")
    @blp.alt_response(422, description="Problems keyed by where, as on create")
    def put(self, args: dict[str, Any], report_id: uuid.UUID) -> Report:
        """Replace a report (its owner, or who holds `reports.manage`; its version grows)."""
        session = extension.session()
        user = acting_user()
        row = saved.update(session, user, saved.get(session, user, report_id), args)
        session.commit()
        return row

    @require_token("reports:write")
    @blp.response(204)
    @blp.alt_response(403, description="Neither its owner nor holding `reports.manage`")
    def delete(self, report_id: uuid.UUID) -> None:
        """Delete a report (its owner, or who holds `reports.manage`; audited)."""
        session = extension.session()
        user = acting_user()
        saved.delete(session, user, saved.get(session, user, report_id))
        session.commit()


@blp.route("/<uuid:report_id>/run")
class RunSavedReport(MethodView):
    @require_token("reports:read")
    @blp.response(200, ReportResultSchema)
    @blp.alt_response(
        422,
        description="The report uses a dataset or field the acting staff member may not "
        "use: keyed dataset, spec.dimensions.0, …",
    )
    def post(self, report_id: uuid.UUID) -> dict[str, Any]:
        """Run a saved report under the acting staff member's data scope and field
        permissions: their numbers, not its author's."""
        return saved.run(saved.get(extension.session(), acting_user(), report_id))


# --- exports (导出报表) and e-mail subscriptions (报表订阅) ---------------------------------


def _format() -> ma.fields.String:
    return ma.fields.String(
        load_default="xlsx",
        validate=ma.validate.OneOf(export.FORMATS),
        metadata={"description": "csv (UTF-8 with BOM) or xlsx"},
    )


class ReportExportArgs(ma.Schema):
    format = _format()


class ReportExportSchema(ReportQuerySchema):
    format = _format()


_EXPORT_RESPONSE = {"type": "string", "format": "binary"}
_EXPORT_403 = (
    "Without `reports.export`, or the report reads a field the acting staff member may not "
    "export (the fields are named)"
)


@blp.route("/<uuid:report_id>/export")
class ExportSavedReport(MethodView):
    @require_token("reports:read")
    @blp.arguments(ReportExportArgs, location="query")
    @blp.response(200, _EXPORT_RESPONSE, content_type=XLSX_MIMETYPE)
    @blp.alt_response(403, description=_EXPORT_403)
    @blp.alt_response(422, description="The report uses data the acting staff member may not use")
    def get(self, args: dict[str, Any], report_id: uuid.UUID) -> Response:
        """A saved report's result as a file (csv or xlsx) with labels in the caller's
        language, run under the acting staff member's data scope; audited."""
        session, user = extension.session(), acting_user()
        row = saved.get(session, user, report_id)
        found = export.export_report(session, user, row, args["format"], locale=str(get_locale()))
        session.commit()
        return file_response(found)


@blp.route("/export")
class ExportReport(MethodView):
    @require_token("reports:read")
    @blp.arguments(ReportExportSchema)
    @blp.response(200, _EXPORT_RESPONSE, content_type=XLSX_MIMETYPE)
    @blp.alt_response(403, description=_EXPORT_403)
    @blp.alt_response(422, description="Problems keyed by where, as for /query")
    def post(self, args: dict[str, Any]) -> Response:
        """A report spec's result as a file (csv or xlsx), as `/query` would give it; audited
        with the spec."""
        session, user = extension.session(), acting_user()
        fmt = args.pop("format")
        found = export.export_spec(session, user, args, fmt, locale=str(get_locale()))
        session.commit()
        return file_response(found)


class ReportSubscriptionWriteSchema(ma.Schema):
    cron = ma.fields.String(
        required=True,
        metadata={
            "description": "5-field cron in the tenant's time zone, at most every 15 minutes: "
            "`0 8 * * 1` is Mondays at 08:00"
        },
    )
    recipients = ma.fields.List(
        ma.fields.UUID(),
        required=True,
        metadata={"description": "Ids of active staff members; each gets their own numbers"},
    )
    format = ma.fields.String(
        load_default="inline",
        metadata={
            "description": "inline (a table of the first rows in the message), csv or xlsx "
            "(a link to that download; messages carry no attachments)"
        },
    )
    enabled = ma.fields.Boolean(load_default=True)


class ReportSubscriptionSchema(ma.Schema):
    id = ma.fields.UUID()
    report_id = ma.fields.UUID()
    cron = ma.fields.String()
    recipients = ma.fields.List(ma.fields.UUID())
    format = ma.fields.String()
    enabled = ma.fields.Boolean()
    created_by_id = ma.fields.UUID()
    last_due_at = ma.fields.DateTime(metadata={"description": "The latest due time sent"})
    last_sent_at = ma.fields.DateTime()
    next_due_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


ReportSubscriptionPage = page_of(ReportSubscriptionSchema, "ReportSubscriptionPage")
_SUBSCRIPTION_403 = "Neither the report's owner nor holding `reports.manage`"
_SUBSCRIPTION_422 = "Problems keyed by field: cron, recipients, format"


def _shown(row: subscriptions.ReportSubscription) -> dict[str, Any]:
    columns = {c: getattr(row, c) for c in ReportSubscriptionSchema().fields if hasattr(row, c)}
    timezone = current().timezone
    return {
        **columns,
        "next_due_at": subscriptions.next_due(row, timezone) if row.enabled else None,
    }


def _managed_report(report_id: uuid.UUID) -> tuple[Any, Any, Report]:
    session, user = extension.session(), acting_user()
    report = saved.get(session, user, report_id)
    subscriptions.may_manage(user, report)
    return session, user, report


@blp.route("/<uuid:report_id>/subscriptions")
class ReportSubscriptions(MethodView):
    @require_token("reports:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ReportSubscriptionPage)
    @blp.alt_response(403, description=_SUBSCRIPTION_403)
    def get(self, args: dict[str, Any], report_id: uuid.UUID) -> dict[str, Any]:
        """The report's e-mail subscriptions, oldest first, a page at a time."""
        session, _user, report = _managed_report(report_id)
        found = paged(subscriptions.list_for(session, report), args)
        return {**found, "items": [_shown(r) for r in found["items"]]}

    @require_token("reports:write")
    @blp.arguments(ReportSubscriptionWriteSchema)
    @blp.response(201, ReportSubscriptionSchema)
    @blp.alt_response(403, description=_SUBSCRIPTION_403)
    @blp.alt_response(422, description=_SUBSCRIPTION_422)
    def post(self, args: dict[str, Any], report_id: uuid.UUID) -> dict[str, Any]:
        """Send the report on a schedule to staff members, each run under their own data
        scope and field permissions (audited). The first send is the first due time after
        now."""
        session, user, report = _managed_report(report_id)
        row = subscriptions.create(session, user, report, args, timezone=current().timezone)
        session.commit()
        return _shown(row)


@blp.route("/<uuid:report_id>/subscriptions/<uuid:subscription_id>")
class ReportSubscriptionItem(MethodView):
    @require_token("reports:write")
    @blp.arguments(ReportSubscriptionWriteSchema)
    @blp.response(200, ReportSubscriptionSchema)
    @blp.alt_response(403, description=_SUBSCRIPTION_403)
    @blp.alt_response(422, description=_SUBSCRIPTION_422)
    def put(
        self, args: dict[str, Any], report_id: uuid.UUID, subscription_id: uuid.UUID
    ) -> dict[str, Any]:
        """Replace a subscription (a new schedule starts from now; audited)."""
        session, user, report = _managed_report(report_id)
        row = subscriptions.get(session, report, subscription_id)
        row = subscriptions.update_subscription(
            session, user, report, row, args, timezone=current().timezone
        )
        session.commit()
        return _shown(row)

    @require_token("reports:write")
    @blp.response(204)
    @blp.alt_response(403, description=_SUBSCRIPTION_403)
    def delete(self, report_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
        """Stop and delete a subscription (audited)."""
        session, user, report = _managed_report(report_id)
        subscriptions.delete(
            session, user, report, subscriptions.get(session, report, subscription_id)
        )
        session.commit()


# --- built-in reports ------------------------------------------------------------------------


class BuiltinReportSchema(ma.Schema):
    key = ma.fields.String(
        metadata={"description": "<plugin>.<name>, e.g. intake.approver_efficiency"}
    )
    name_zh = ma.fields.String()
    name_en = ma.fields.String()
    description_zh = ma.fields.String()
    description_en = ma.fields.String()
    dataset = ma.fields.String()
    spec = ma.fields.Dict(metadata={"description": "dimensions, measures, filters, sort, limit"})
    chart_type = ma.fields.String()
    default_roles = ma.fields.List(
        ma.fields.String(), metadata={"description": "Role keys it is meant for"}
    )
    usable = ma.fields.Boolean(
        metadata={"description": "Whether the acting staff member may run it"}
    )


class BuiltinReportList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BuiltinReportSchema))


class BuiltinCopySchema(ma.Schema):
    name = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=NAME_LENGTH),
        metadata={"description": "Default: the built-in report's Chinese name"},
    )
    description = ma.fields.String(load_default=None)
    shared_with_roles = ma.fields.List(
        ma.fields.String(),
        load_default=None,
        metadata={"description": "Default: the built-in report's default roles"},
    )


@blp.route("/builtin")
class BuiltinReports(MethodView):
    @require_token("reports:read")
    @blp.response(200, BuiltinReportList)
    def get(self) -> dict[str, Any]:
        """The built-in reports of the tenant's enabled plugins (内置报表), each saying
        whether the acting staff member may run it."""
        return {"items": [builtin.describe(r) for r in builtin.available()]}


@blp.route("/builtin/<string:key>/run")
class RunBuiltinReport(MethodView):
    @require_token("reports:read")
    @blp.response(200, ReportResultSchema)
    @blp.alt_response(404, description="No such built-in report")
    @blp.alt_response(
        422,
        description="The report uses a dataset or field the acting staff member may not "
        "use: keyed dataset, spec.dimensions.0, …",
    )
    def post(self, key: str) -> dict[str, Any]:
        """Run a built-in report under the acting staff member's data scope and field
        permissions."""
        return builtin.run(builtin.get(key))


@blp.route("/builtin/<string:key>/copy")
class CopyBuiltinReport(MethodView):
    @require_token("reports:write")
    @blp.arguments(BuiltinCopySchema)
    @blp.response(201, SavedReportSchema)
    @blp.alt_response(404, description="No such built-in report")
    @blp.alt_response(409, description="A report of this name exists")
    @blp.alt_response(422, description="Problems keyed by where, as on create")
    def post(self, args: dict[str, Any], key: str) -> Report:
        """Copy a built-in report into a saved report of the acting staff member's, to change
        and share (checked against what they may use; audited)."""
        session = extension.session()
        row = builtin.copy(session, acting_user(), builtin.get(key), args)
        session.commit()
        return row
