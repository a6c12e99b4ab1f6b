"""What a report can be made of (报表数据集): a plugin declares a ``Dataset`` over one of its
record types, with the dimensions a report may group by and the measures it may compute
(DESIGN §4 "Reports"); ``loandesk.reports.query`` compiles a report over it to one SQL
aggregate query.

A dataset reads a record type's model, so the viewer's data scope (``RecordAccess.where``)
and field permissions apply: a dimension or measure over a field the viewer may not see
(hidden or masked) is not offered to them, and refused like an unknown one.

Dimensions are fields of the record type (built in, or the tenant's custom fields of the
kinds in ``custom_kinds``) or, for what no field holds, a plain column (``column``). Date and
datetime fields group by a bucket (day, week, month, quarter, year) in the tenant's time zone.
Measures count records, count distinct values, sum / average / take the minimum or maximum of
an integer or money field, or divide one measure by another (``ratio``: approval rate =
approved / decided), or take a percentile (``median``, ``p90``) of an integer. ``when``
narrows what a measure counts: ``("status", ("approved",))``. ``per`` gives an average or a
percentile in a larger unit (seconds shown as hours: ``per=3600``) with ``places`` decimals.

Most datasets have one row per record. A dataset whose rows are something else (the approval
tasks of applications, the payments of loans) declares a ``Source``: the FROM clause joining
its row table to the record type's model (on the tenant and the record's id) and the
``SourceColumn``s it adds. The rows are still narrowed by the viewer's scope over the
*record*: a viewer sees the tasks of the applications they may see. Source columns are
named like fields (a dimension's or measure's ``field``, a ``when``'s key) and are offered to
everyone who may read the records: declare only what the record's field permissions do not
guard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from loandesk.fields.registry import KEY_PATTERN, FieldSpec, RecordType

Bucket = Literal["day", "week", "month", "quarter", "year"]
BUCKETS: tuple[str, ...] = get_args(Bucket)
Aggregate = Literal["count", "count_distinct", "sum", "avg", "min", "max", "ratio", "median", "p90"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)
# Percentile aggregates and their percent (interpolated linearly between the two nearest
# values, as PostgreSQL's ``percentile_cont``).
PERCENTILES: dict[str, int] = {"median": 50, "p90": 90}
# Aggregates that read the value of an integer or money field.
NUMERIC_AGGREGATES = ("sum", "avg", "min", "max", *PERCENTILES)
# Aggregates a ratio may divide: integers.
_EXACT = ("count", "count_distinct", "sum", "min", "max")
# Aggregates a measure's ``per`` may divide.
_PER = ("avg", *PERCENTILES)
# The kinds a measure may sum, average, or take the extremes of: stored as integers (money in
# 分), so totals are exact on every database.
SUMMABLE_KINDS = ("integer", "money")
DATE_KINDS = ("date", "datetime")
# Custom fields of these kinds are offered as dimensions when a dataset does not say otherwise.
GROUPABLE_KINDS = ("select", "region", "org_unit", "user", "date", "boolean")
# A dashboard's global filters (loandesk.reports.dashboards); a dataset maps those it
# supports to a field of its record type in ``Dataset.global_filters``.
GLOBAL_FILTERS = ("date", "product", "org_unit", "channel")


@dataclass(frozen=True)
class Dimension:
    """What a report may group by: the record type's field ``field`` (default: ``key``), or a
    plain ``column`` (``column(model)`` gives the SQL expression) for what no field holds."""

    key: str
    label_zh: str = ""
    label_en: str = ""
    field: str | None = None
    column: Callable[[Any], Any] | None = None

    @property
    def field_key(self) -> str | None:
        return None if self.column is not None else (self.field or self.key)

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


@dataclass(frozen=True)
class Measure:
    """What a report may compute per group. ``aggregate`` over ``field`` (none for
    ``count``); a ``ratio`` divides measure ``numerator`` by measure ``denominator`` of the
    same dataset. ``when`` = (field, values): only records whose field is one of the values
    count."""

    key: str
    label_zh: str
    label_en: str
    aggregate: Aggregate = "count"
    field: str | None = None
    when: tuple[str, tuple[Any, ...]] | None = None
    numerator: str | None = None
    denominator: str | None = None
    places: int = 4  # a ratio's decimal places; with ``per``, the value's
    per: int = 1  # an average or percentile divided by this (seconds in hours: 3600)

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


@dataclass(frozen=True)
class SourceColumn:
    """A value of a sourced dataset's rows that no field of the record type holds.
    ``expression(dialect)`` gives its SQL expression (over the tables the source joins);
    ``kind`` is a field kind (``user``, ``select`` with ``options``, ``datetime``,
    ``integer``, ``text``): it decides what the column may be grouped by and computed as."""

    key: str
    label_zh: str
    label_en: str
    kind: str
    expression: Callable[[str], Any]
    options: tuple[tuple[str, str, str], ...] = ()

    @property
    def spec(self) -> FieldSpec:
        """The column described as a (read-only) field, as reports treat it."""
        kind: Any = self.kind
        return FieldSpec(
            self.key, self.label_zh, self.label_en, kind, options=self.options, read_only=True
        )


@dataclass(frozen=True)
class Source:
    """Where a dataset's rows come from when they are not its record type's own.
    ``select_from(model, dialect)`` gives the FROM clause: the row table joined to ``model``
    (the record type's model) on the tenant and the record's id — inner joins, so each row
    belongs to one record the viewer's scope is applied to. ``columns`` are the values it
    adds (``SourceColumn``)."""

    select_from: Callable[[Any, str], Any]
    columns: tuple[SourceColumn, ...]


@dataclass(frozen=True)
class Dataset:
    """A dataset a plugin registers (``loandesk_report_datasets``), keyed ``<plugin>.<name>``.
    ``record_type`` is the key of the record type it reads (its model is the query's source);
    ``custom_kinds``: which kinds of the tenant's custom fields become dimensions;
    ``global_filters``: the field a dashboard's global filter (``GLOBAL_FILTERS``: date
    range, product, org unit, channel) narrows, for those this dataset supports."""

    key: str
    label_zh: str
    label_en: str
    record_type: str
    dimensions: tuple[Dimension, ...]
    measures: tuple[Measure, ...]
    custom_kinds: tuple[str, ...] = GROUPABLE_KINDS
    description_zh: str = ""
    description_en: str = ""
    global_filters: Mapping[str, str] = field(default_factory=dict)
    source: Source | None = None  # rows that are not the record type's own (see the module)

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en

    def measure(self, key: str) -> Measure | None:
        return next((m for m in self.measures if m.key == key), None)

    def problems(self, record_type: RecordType | None = None) -> list[str]:
        """What is wrong with this declaration (empty when it is sound); with its
        ``record_type``, also fields it names that the record type lacks."""
        found: list[str] = []
        keys = [d.key for d in self.dimensions] + [m.key for m in self.measures]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            found.append(f"dataset {self.key!r}: {key!r} is declared twice")
        for key in keys:
            if not KEY_PATTERN.match(key):
                found.append(f"dataset {self.key!r}: key {key!r}")
        for kind in sorted(set(self.global_filters) - set(GLOBAL_FILTERS)):
            found.append(f"dataset {self.key!r}: no global filter {kind!r}")
        measures = {m.key for m in self.measures}
        for measure in self.measures:
            if measure.aggregate not in AGGREGATES:
                found.append(f"dataset {self.key!r}: {measure.key!r} aggregate")
            elif measure.aggregate == "ratio":
                if measure.numerator not in measures or measure.denominator not in measures:
                    found.append(f"dataset {self.key!r}: ratio {measure.key!r} names no measure")
                elif any(
                    (part := self.measure(k)) is not None and part.aggregate not in _EXACT
                    for k in (measure.numerator or "", measure.denominator or "")
                ):
                    found.append(f"dataset {self.key!r}: ratio {measure.key!r} of a quotient")
            elif measure.aggregate != "count" and measure.field is None:
                found.append(f"dataset {self.key!r}: {measure.key!r} needs a field")
            if measure.per < 1 or (measure.per != 1 and measure.aggregate not in _PER):
                found.append(f"dataset {self.key!r}: {measure.key!r} per")
        if self.source is not None:
            columns = [c.key for c in self.source.columns]
            for key in sorted({k for k in columns if columns.count(k) > 1}):
                found.append(f"dataset {self.key!r}: source column {key!r} is declared twice")
            for key in columns:
                if not KEY_PATTERN.match(key):
                    found.append(f"dataset {self.key!r}: source column key {key!r}")
        if record_type is not None:
            found.extend(self._field_problems(record_type))
        return found

    def _field_problems(self, record_type: RecordType) -> list[str]:
        found = []
        specs = {f.key: f for f in record_type.fields}
        for key in source_specs(self):
            if key in specs:
                found.append(f"dataset {self.key!r}: source column {key!r} is a field")
        specs.update(source_specs(self))
        named = [d.field_key for d in self.dimensions if d.field_key]
        named += [m.field for m in self.measures if m.field]
        named += [m.when[0] for m in self.measures if m.when]
        named += list(self.global_filters.values())
        for key in named:
            if key not in specs:
                found.append(f"dataset {self.key!r}: record type has no field {key!r}")
        for measure in self.measures:
            spec = specs.get(measure.field or "")
            numeric = measure.aggregate in NUMERIC_AGGREGATES
            if numeric and spec is not None and spec.value_kind not in SUMMABLE_KINDS:
                found.append(f"dataset {self.key!r}: {measure.key!r} over a {spec.kind}")
        return found


def measure_fields(dataset: Dataset, measure: Measure) -> set[str]:
    """The fields a measure reads (a ratio: its parts'), which the viewer must be able to see."""
    if measure.aggregate == "ratio":
        found: set[str] = set()
        for part in (measure.numerator, measure.denominator):
            inner = dataset.measure(part or "")
            if inner is not None:
                found |= measure_fields(dataset, inner)
        return found
    read = {k for k in (measure.field, measure.when[0] if measure.when else None) if k}
    return read - set(source_specs(dataset))


def custom_dimensions(dataset: Dataset, record_type: RecordType) -> list[Dimension]:
    """The tenant's custom fields of ``record_type`` that ``dataset`` groups by (not one named
    like a source column: the column wins)."""
    declared = {d.key for d in dataset.dimensions} | set(source_specs(dataset))
    return [
        Dimension(spec.key, spec.label_zh, spec.label_en)
        for spec in record_type.fields
        if spec.custom and spec.kind in dataset.custom_kinds and spec.key not in declared
    ]


def source_specs(dataset: Dataset) -> dict[str, FieldSpec]:
    """A sourced dataset's columns as fields, by key (none for a dataset of records)."""
    if dataset.source is None:
        return {}
    return {c.key: c.spec for c in dataset.source.columns}


def bucketed(spec: FieldSpec | None) -> bool:
    return spec is not None and spec.value_kind in DATE_KINDS
