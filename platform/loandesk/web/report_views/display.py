"""A report's result as the pages draw it (``templates/reports/_chart.html``): its columns
labelled in the page's language, each dimension value shown by name (a select's option label,
a unit's or a staff member's name, a region's name: one query per kind, never one per row),
the pivot of a two-dimension report, and per row the link to the records it counts.

Drilling down: a row of a report stands for the records that have its dimension values and
pass its filters, so its link is the dataset's record list (``RecordType.list_endpoint``) with
the report's filters plus one filter per dimension value (``status:eq:approved``; a date
bucket as a range, ``created_at:ge:2026-02-01`` and ``created_at:lt:2026-03-01``, in the
tenant's time, as the bucket was taken; no value: ``key:empty``). The list applies the same
data scope, so it shows exactly the records the row counted. A report grouped by what the
viewer's list cannot filter by has no links (the list would show more than the row counts).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from flask_babel import get_locale, gettext
from markupsafe import Markup
from werkzeug.routing import BuildError

from loandesk import extension
from loandesk.errors import DomainError
from loandesk.fields import regions
from loandesk.reports import service
from loandesk.reports.catalog import Catalog
from loandesk.web.report_views import tiles

# Charts drawn by static/js/reports.js; the others are HTML tables drawn here.
DRAWN = ("line", "bar", "stacked_bar", "pie", "funnel")


@dataclass
class Shown:
    """One report result ready to draw."""

    chart_type: str
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    labels: dict[str, dict[str, str]]
    drills: list[str] | None
    locale: str
    note: str = ""
    pivot: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dimensions(self) -> list[dict[str, Any]]:
        return [c for c in self.columns if c["role"] == "dimension"]

    @property
    def measures(self) -> list[dict[str, Any]]:
        return [c for c in self.columns if c["role"] == "measure"]

    @property
    def drawn(self) -> bool:
        """Drawn by ECharts (else the HTML here is the whole chart)."""
        if self.chart_type == "map":
            return "map" in self.extra
        return self.chart_type in DRAWN or (self.chart_type == "number" and self.gauge)

    @property
    def gauge(self) -> bool:
        """A number card of one ratio in 0..1 is also drawn as a gauge."""
        first = self.measures[0] if self.measures else None
        if first is None or first.get("aggregate") != "ratio" or len(self.rows) != 1:
            return False
        value = self.rows[0].get(first["key"])
        return value is not None and 0 <= float(value) <= 1

    def label(self, key: str, value: Any) -> str:
        """How dimension ``key``'s ``value`` shows."""
        if value is None:
            return gettext("(none)")
        return self.labels.get(key, {}).get(str(value), str(value))

    def value(self, column: Mapping[str, Any], row: Mapping[str, Any]) -> str:
        """A cell as text: a dimension by its label, a ratio as a percentage, else as is
        (money and averages are exact decimal strings already)."""
        value = row.get(column["key"])
        if column["role"] == "dimension":
            return self.label(column["key"], value)
        if value is None:
            return "–"
        if column.get("aggregate") == "ratio":
            return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'))}%"
        return str(value)

    def drill(self, index: int) -> str:
        return self.drills[index] if self.drills is not None else ""

    def payload(self) -> Markup:
        """The JSON that static/js/reports.js reads, safe inside a <script> element."""
        data = {
            "chart_type": "gauge" if self.chart_type == "number" else self.chart_type,
            "columns": self.columns,
            "rows": self.rows,
            "labels": self.labels,
            "drill": self.drills,
            "locale": self.locale,
            "none": gettext("(none)"),
        }
        if "map" in self.extra:
            data["map"] = self.extra["map"]
        text = json.dumps(data, ensure_ascii=False, default=str)
        # "</script>" or "<!--" in a value must not end the element early
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return Markup(text)  # noqa: S704  (JSON with <, > and & escaped above)


def locale() -> str:
    return str(get_locale() or "zh")


def shown(
    result: Mapping[str, Any],
    chart_type: str,
    drill_url: str | None = None,
    catalog: Catalog | None = None,
) -> Shown:
    """``result`` (``reports.service.run``'s answer) labelled for the acting staff member;
    ``drill_url``: the records list with the report's filters (``drill_base``), or None for
    no links."""
    loc = locale()
    if catalog is None:
        catalog = service.catalog(str(result["dataset"]))
    rows = [dict(r) for r in result["rows"]]
    columns = [_column(catalog, c, loc) for c in result["columns"]]
    labels = _labels(catalog, columns, rows, loc)
    drills = [drill_link(drill_url, columns, row) for row in rows] if drill_url else None
    found = Shown(chart_type, columns, rows, labels, drills, loc)
    if chart_type == "pivot":
        found.pivot = _pivot(found)
    elif chart_type == "map":
        _province_map(found)
    return found


def _column(catalog: Catalog, column: Mapping[str, Any], loc: str) -> dict[str, Any]:
    key = column["key"]
    found = {"key": key, "role": column["role"], "bucket": column.get("bucket")}
    if column["role"] == "dimension":
        dimension, spec = catalog.dimensions[key]
        item = spec if spec is not None and not dimension.label_en else dimension
        found["label"] = item.label(loc)
        found["kind"] = spec.value_kind if spec is not None else "text"
        if found["bucket"]:
            found["label"] += f" ({_bucket_words()[found['bucket']]})"
    else:
        measure = catalog.measures[key]
        found["label"] = measure.label(loc)
        found["aggregate"] = measure.aggregate
    return found


def _bucket_words() -> dict[str, str]:
    return {
        "day": gettext("by day"),
        "week": gettext("by week"),
        "month": gettext("by month"),
        "quarter": gettext("by quarter"),
        "year": gettext("by year"),
    }


def _labels(
    catalog: Catalog, columns: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], loc: str
) -> dict[str, dict[str, str]]:
    """Per dimension, value → what to show; one query per dimension of staff or units."""
    from loandesk.auth.users import display_names
    from loandesk.rbac.org import unit_names

    session = extension.session()
    found: dict[str, dict[str, str]] = {}
    for column in columns:
        if column["role"] != "dimension":
            continue
        key, kind = column["key"], column["kind"]
        values = {r.get(key) for r in rows} - {None}
        spec = catalog.dimensions[key][1]
        if column["bucket"]:
            found[key] = {str(v): _bucket_label(str(v), column["bucket"]) for v in values}
        elif kind == "select" and spec is not None:
            found[key] = {str(v): spec.option_label(v, loc) for v in values}
        elif kind == "boolean":
            found[key] = {str(v): gettext("Yes") if v else gettext("No") for v in values}
        elif kind == "region":
            found[key] = {str(v): regions.label(str(v)) or str(v) for v in values}
        elif kind in ("user", "org_unit"):
            ids = [_uuid(v) for v in values]
            lookup = display_names if kind == "user" else unit_names
            names = lookup(session, [i for i in ids if i is not None])
            found[key] = {str(k): v for k, v in names.items()}
    return found


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _bucket_label(value: str, bucket: str) -> str:
    """``2026-02-01`` as its bucket reads: 2026-02 (month), 2026 Q1, 2026, or the day."""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    if bucket == "month":
        return f"{day:%Y-%m}"
    if bucket == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    if bucket == "year":
        return str(day.year)
    return day.isoformat()


def bucket_end(start: date, bucket: str) -> date:
    """The first day after the bucket that starts on ``start``."""
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[bucket]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def row_filters(columns: Sequence[Mapping[str, Any]], row: Mapping[str, Any]) -> list[str]:
    """The list filters that select the records of one report row."""
    found = []
    for column in columns:
        if column["role"] != "dimension":
            continue
        key, value = column["key"], row.get(column["key"])
        if value is None:
            found.append(f"{key}:empty")
        elif column.get("bucket"):
            start = date.fromisoformat(str(value)[:10])
            end = bucket_end(start, column["bucket"])
            found += [f"{key}:ge:{start.isoformat()}", f"{key}:lt:{end.isoformat()}"]
        elif isinstance(value, bool):
            found.append(f"{key}:eq:{'true' if value else 'false'}")
        else:
            found.append(f"{key}:eq:{value}")
    return found


def drill_link(base: str, columns: Sequence[Mapping[str, Any]], row: Mapping[str, Any]) -> str:
    extra = urlencode([("filter", f) for f in row_filters(columns, row)])
    if not extra:
        return base
    return base + ("&" if "?" in base else "?") + extra


def drill_base(dataset: str, spec: Mapping[str, Any]) -> str | None:
    """The records list of ``dataset`` with ``spec``'s filters, for the acting staff member;
    None when the record type has no list page, or the report groups by a field that list
    cannot filter by for them."""
    try:
        catalog = service.catalog(dataset)
    except DomainError:
        return None
    endpoint = catalog.access.record_type.list_endpoint
    filterable = {f.key for f in catalog.lists.filterable()}
    for item in spec.get("dimensions") or []:
        key = item.get("key") if isinstance(item, Mapping) else item
        dimension = catalog.dimensions.get(str(key))
        if dimension is None or dimension[0].field_key not in filterable:
            return None
    if endpoint is None:
        return None
    try:
        return url_for(endpoint, filter=list(spec.get("filters") or []))
    except BuildError:
        return None


def _pivot(found: Shown) -> dict[str, Any] | None:
    """First dimension down, second across, one cell per (row value, column value) holding
    the report's measures; None unless the report has two dimensions or more."""
    dimensions = found.dimensions
    if len(dimensions) < 2:
        return None
    down, across = dimensions[0]["key"], dimensions[1]["key"]
    row_values: list[Any] = []
    column_values: list[Any] = []
    cells: dict[tuple[str, str], int] = {}
    for index, row in enumerate(found.rows):
        if row.get(down) not in row_values:
            row_values.append(row.get(down))
        if row.get(across) not in column_values:
            column_values.append(row.get(across))
        cells[(str(row.get(down)), str(row.get(across)))] = index
    return {
        "down": dimensions[0],
        "across": dimensions[1],
        "rows": row_values,
        "columns": column_values,
        "cell": lambda r, c: cells.get((str(r), str(c))),
    }


def _province_map(found: Shown) -> None:
    """A map report as the tile map of China's provinces (``tiles``), coloured by its first
    measure: a report of one region dimension whose values are province-level. Values below
    a province stay in the table only (adding them up here would be aggregating outside the
    query, and wrong for a ratio): the note says to group by a province field. Anything else
    shows as a table, the note saying why."""
    dimensions = found.dimensions
    if len(dimensions) != 1 or dimensions[0].get("kind") != "region":
        found.note = gettext(
            "A map shows one region dimension (a province field) and its measures; this "
            "report shows as a table."
        )
        return
    key = dimensions[0]["key"]
    below = [r for r in found.rows if r.get(key) is not None and not tiles.province_level(r[key])]
    if below:
        found.note = gettext(
            "%(count)d rows are regions below a province and are in the table only: group by a "
            "province field to map them.",
            count=len(below),
        )
    found.extra["map"] = {"key": key, "tiles": tiles.tiles(found.locale)}
