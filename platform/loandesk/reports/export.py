"""Exports of a report's result (导出报表): a CSV file (UTF-8 with a BOM, so that Excel opens
Chinese text correctly), an Excel workbook, and the short text table a scheduled e-mail shows.

An export runs the same single SQL aggregate as the report itself, under the viewer's data
scope and field permissions, and asks for more: the permission ``reports.export``, and an
export grant (``RecordAccess.export``) for every field the report's dimensions and measures
read — a sum over a field tells about the field, so numbers leave the system only as far as
their fields may. Each export is audited (the report or the spec, the format, the row count;
never the numbers).

The file holds what staff read on the page: headers in the viewer's language, a select's
option label instead of its value, names instead of the ids of org units and staff (one query
per kind) and of regions, date buckets as dates; counts as integers, money and ratios as
Decimal written exactly, with number formats in the workbook.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Forbidden, ValidationFailed
from loandesk.i18n import N_
from loandesk.imports.sheets import DATE_FORMAT, MONEY_FORMAT, XLSX_MIMETYPE, yes_no
from loandesk.reports.catalog import Catalog
from loandesk.reports.datasets import Measure, measure_fields, source_specs

EXPORT = "reports.export"
FORMATS = ("csv", "xlsx")
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MIMETYPE}
NUMBER_FORMATS = {
    "integer": "#,##0",
    "money": MONEY_FORMAT,
    "number": "#,##0.00",
    "ratio": "0.00%",
}
BUCKET_FORMATS = {"year": "yyyy", "quarter": "yyyy-mm", "month": "yyyy-mm"}
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\[\]\x00-\x1f]+')
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column as staff read it: ``kind`` is text, date (a bucket's first day), integer,
    money, number or ratio."""

    key: str
    label: str
    kind: str
    bucket: str | None = None


@dataclass
class Table:
    """A report's result with labels: dimension values as staff read them (str, or a date),
    measures as int or Decimal."""

    columns: list[Column]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Export:
    content: bytes
    mimetype: str
    filename: str
    rows: int


# --- permission ----------------------------------------------------------------------------


def may_export(user: Any) -> None:
    """``Forbidden`` unless ``user`` holds ``reports.export``."""
    if not user.can(EXPORT):
        raise Forbidden(
            N_("Exporting reports needs the permission %(permission)s."),
            params={"permission": EXPORT},
        )


def fields_read(catalog: Catalog, spec: Mapping[str, Any]) -> set[str]:
    """The record fields the spec's dimensions and measures read (those the catalog knows;
    the rest the query refuses). A sourced dataset's own columns (an early repayment's
    product, a ledger line's funder) are not fields of the record type, so no export grant
    names them: they are left out here as ``measure_fields`` leaves them out of measures."""
    own = set(source_specs(catalog.dataset))
    found: set[str] = set()
    for item in spec.get("dimensions") or ():
        key = item.get("key") if isinstance(item, dict) else item
        entry = catalog.dimensions.get(str(key))
        if entry is not None and entry[0].field_key and entry[0].field_key not in own:
            found.add(entry[0].field_key)
    for key in spec.get("measures") or ():
        measure = catalog.measures.get(key) if isinstance(key, str) else None
        if measure is not None:
            found |= measure_fields(catalog.dataset, measure)
    return found


def check_fields(catalog: Catalog, spec: Mapping[str, Any]) -> None:
    """``Forbidden`` naming each field the spec reads that the viewer may not export."""
    refused = sorted(fields_read(catalog, spec) - set(catalog.access.export))
    if refused:
        raise Forbidden(
            N_("You may not export these fields, which the report reads: %(fields)s."),
            params={"fields": ", ".join(refused)},
            errors={key: [N_("You may not export this field.")] for key in refused},
        )


# --- labels --------------------------------------------------------------------------------


def labelled(session: Session, catalog: Catalog, result: Mapping[str, Any], locale: str) -> Table:
    """``result`` (``service.run``'s) as staff read it, in ``locale``."""
    columns: list[Column] = []
    converters = []
    raw_rows: list[Mapping[str, Any]] = result["rows"]
    for column in result["columns"]:
        key = column["key"]
        if column["role"] == "dimension":
            found, convert = _dimension(session, catalog, key, column.get("bucket"), raw_rows,
                                        locale)  # fmt: skip
        else:
            found, convert = _measure(catalog, catalog.measures[key], locale)
        columns.append(found)
        converters.append(convert)
    rows = [
        [convert(row.get(c.key)) for c, convert in zip(columns, converters, strict=True)]
        for row in raw_rows
    ]
    return Table(columns, rows)


def _dimension(
    session: Session,
    catalog: Catalog,
    key: str,
    bucket: str | None,
    rows: Sequence[Mapping[str, Any]],
    locale: str,
) -> tuple[Column, Any]:
    dimension, spec = catalog.dimensions[key]
    named = spec if spec is not None and not dimension.label_en else dimension
    label = named.label_zh if locale.startswith("zh") else named.label_en
    if bucket:
        return Column(key, label, "date", bucket), _day
    kind = spec.kind if spec is not None else "text"
    if kind == "select":
        assert spec is not None
        return Column(key, label, "text"), lambda v: _text(spec.option_label(v, locale))
    if kind == "boolean":
        yes, no = yes_no(locale)
        return Column(key, label, "text"), lambda v: None if v is None else (yes if v else no)
    if kind in ("user", "org_unit"):
        names = _names(session, kind, (row.get(key) for row in rows))
        return Column(key, label, "text"), lambda v: None if v is None else names.get(str(v), v)
    if kind == "region":
        from loandesk.fields import regions

        return Column(key, label, "text"), lambda v: None if v is None else regions.label(str(v))
    if spec is not None and spec.value_kind == "integer":
        return Column(key, label, "integer"), _number
    return Column(key, label, "text"), _text


def _measure(catalog: Catalog, measure: Measure, locale: str) -> tuple[Column, Any]:
    specs = {f.key: f for f in catalog.access.record_type.fields}
    spec = specs.get(measure.field or "")
    money = spec is not None and spec.value_kind == "money"
    if measure.aggregate == "ratio":
        kind = "ratio"
    elif money:
        kind = "money"
    elif measure.aggregate == "avg":
        kind = "number"
    else:
        kind = "integer"
    return Column(measure.key, measure.label(locale), kind), _number


def _names(session: Session, kind: str, values: Iterable[Any]) -> dict[str, str]:
    """Display names of the staff members or org units among ``values``: one query."""
    ids = set()
    for value in values:
        try:
            ids.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    if not ids:
        return {}
    if kind == "user":
        from loandesk.auth.models import User

        query = select(User.id, User.display_name).where(User.id.in_(ids))
    else:
        from loandesk.rbac.models import OrgUnit

        query = select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))
    return {str(ident): str(name) for ident, name in session.execute(query)}


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _number(value: Any) -> int | Decimal | None:
    if value is None or isinstance(value, int | Decimal):
        return value
    return Decimal(str(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- formats -------------------------------------------------------------------------------


def shown(column: Column, value: Any) -> str:
    """A value as text (CSV, the e-mail's table): a month as ``2026-03``, a quarter as
    ``2026 Q1``, a year as ``2026``; numbers exactly as they are."""
    if value is None:
        return ""
    if column.kind == "date" and isinstance(value, date):
        if column.bucket == "year":
            return f"{value.year}"
        if column.bucket == "quarter":
            return f"{value.year} Q{(value.month - 1) // 3 + 1}"
        if column.bucket == "month":
            return f"{value.year}-{value.month:02d}"
        return value.isoformat()
    return str(value)


def to_csv(table: Table) -> bytes:
    """CSV in UTF-8 with a BOM; a text cell a spreadsheet would run as a formula is quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_safe(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                _safe(shown(c, v)) if c.kind == "text" else shown(c, v)
                for c, v in zip(table.columns, row, strict=True)
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table, title: str) -> bytes:
    """A workbook of one sheet: the header row, then the rows, numbers as numbers with their
    formats, buckets as dates."""
    # imported here: openpyxl imports numpy when installed (see loandesk.imports.sheets)
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(title))
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=_safe(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        cells = []
        for column, value in zip(table.columns, row, strict=True):
            cell = WriteOnlyCell(sheet, value=_safe(value) if column.kind == "text" else value)
            number_format = _format(column)
            if number_format and value is not None:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _format(column: Column) -> str | None:
    if column.kind == "date":
        return BUCKET_FORMATS.get(column.bucket or "", DATE_FORMAT)
    return NUMBER_FORMATS.get(column.kind)


def text_table(table: Table, limit: int = 10) -> str:
    """The first ``limit`` rows as a plain-text table (an e-mail's body)."""
    lines = [" | ".join(c.label for c in table.columns)]
    for row in table.rows[:limit]:
        lines.append(" | ".join(shown(c, v) for c, v in zip(table.columns, row, strict=True)))
    return "\n".join(lines)


def _safe(value: Any) -> Any:
    """A text cell that a spreadsheet shows, never runs as a formula."""
    if isinstance(value, str) and value[:1] in _FORMULA:
        return "'" + value
    return value


def sheet_title(name: str) -> str:
    """A worksheet's title from a report's name (at most 31 characters, none of []:*?/\\)."""
    return _UNSAFE_NAME.sub(" ", name).strip()[:31].strip() or "data"


def local_today() -> date:
    """Today in the current tenant's time zone (a file's date)."""
    from zoneinfo import ZoneInfo

    from loandesk.db import utcnow
    from loandesk.tenancy import current

    return utcnow().astimezone(ZoneInfo(current().timezone)).date()


def filename(name: str, fmt: str, today: date) -> str:
    """``<report name>-<yyyymmdd>.<fmt>``, without characters a file system refuses."""
    stem = _UNSAFE_NAME.sub("_", name).strip(" ._")[:80] or "report"
    return f"{stem}-{today:%Y%m%d}.{fmt}"


def render(table: Table, fmt: str, name: str, today: date) -> Export:
    """The file of ``table`` in format ``fmt`` (csv or xlsx)."""
    content = to_csv(table) if fmt == "csv" else to_xlsx(table, name)
    return Export(content, MIMETYPES[fmt], filename(name, fmt, today), len(table.rows))


def record(
    session: Session,
    fmt: str,
    rows: int,
    *,
    report: Any = None,
    spec: Mapping[str, Any] | None = None,
) -> None:
    """The audit event of one export: which report (or the ad-hoc spec), the format and the
    row count; never the numbers."""
    diff: dict[str, Any] = {"format": fmt, "rows": rows}
    if report is not None:
        diff.update({"name": report.name, "dataset": report.dataset, "version": report.version})
    else:
        diff["spec"] = dict(spec or {})
    audit.record(session, "report.export", "report", report.id if report else None, diff)


# --- in a request (or a job acting for a staff member) ----------------------------------------


def checked_table(session: Session, user: Any, row: Any, locale: str) -> Table:
    """Saved report ``row`` run for ``user`` (the acting staff member), with labels, when
    they may export it: ``Forbidden`` without ``reports.export`` or an export grant for a
    field it reads, 422 naming the report when it uses what they may not use."""
    from loandesk.reports import saved, service

    may_export(user)
    try:
        chosen = service.catalog(row.dataset)
    except ValidationFailed:
        saved.run(row)  # refused with the report's own message
        raise
    check_fields(chosen, {"dataset": row.dataset, **row.spec})
    return labelled(session, chosen, saved.run(row), locale)


def export_report(
    session: Session, user: Any, row: Any, fmt: str, *, locale: str, today: date | None = None
) -> Export:
    """Saved report ``row`` as a file for ``user`` (the acting staff member); audited."""
    table = checked_table(session, user, row, locale)
    found = render(table, fmt, row.name, today or local_today())
    record(session, fmt, found.rows, report=row)
    return found


def export_spec(
    session: Session,
    user: Any,
    spec: Mapping[str, Any],
    fmt: str,
    *,
    locale: str,
    today: date | None = None,
    name: str | None = None,
) -> Export:
    """An ad-hoc report spec's result as a file for ``user`` (the acting staff member), named
    ``name`` (a built-in report's) or after its dataset; audited."""
    from loandesk.reports import service

    may_export(user)
    chosen = service.catalog(str(spec.get("dataset") or ""))
    check_fields(chosen, spec)
    table = labelled(session, chosen, service.run(spec), locale)
    found = render(table, fmt, name or chosen.dataset.label(locale), today or local_today())
    record(session, fmt, found.rows, spec=spec)
    return found
