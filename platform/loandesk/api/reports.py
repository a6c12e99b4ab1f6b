"""``/api/v1/reports``: reports over the datasets plugins register (报表) — group a dataset's
records by dimensions and compute measures, in one SQL aggregate query run under the data
scope and field permissions of the staff member the client acts for. Needs
``reports:read``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk.api.lists import FILTER_HELP
from loandesk.auth.oauth import require_token
from loandesk.reports import service
from loandesk.reports.query import MAX_LIMIT

blp = Blueprint(
    "api_reports",
    __name__,
    url_prefix="/reports",
    description="Reports (报表): a dataset (registered by a plugin: `intake.applications`, "
    "`customers.customers`), dimensions to group by (date fields by day, week, month, "
    "quarter or year in the tenant's time zone), measures (counts, sums, averages, minima, "
    "maxima, ratios such as the approval rate) and filters. A report runs as one SQL "
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


class ReportQuerySchema(ma.Schema):
    dataset = ma.fields.String(required=True, metadata={"description": "e.g. intake.applications"})
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
