"""A report spec checked against what the viewer may use, compiled to one SQL aggregate query.

The spec, as the API takes it::

    {"dataset": "intake.applications",
     "dimensions": [{"key": "org_unit_id"}, {"key": "created_at", "bucket": "month"}],
     "measures": ["count", "amount_sum", "approval_rate"],
     "filters": ["amount:ge:10000"], "sort": "-amount_sum", "limit": 100}

``Catalog.of(dataset, access)`` is what one viewer may use of a dataset: dimensions and
measures over fields they see unmasked (a masked amount summed would tell what the mask
hides), and the filters of their record lists (``loandesk.fields.lists``: values parsed per
field kind, always bound parameters). ``compile_report`` refuses anything else with 422,
problems keyed ``dataset``, ``dimensions.0``, ``measures.1``, ``filter.0``, ``sort``,
``limit``; a field the viewer may not see is refused with the message of an unknown one.

The query is ``SELECT dims, aggregates FROM (SELECT dim values, measure inputs FROM the
record type's table WHERE tenant AND scope AND filters) GROUP BY dims``: the inner select
computes each value once (a bucket's time zone is one bound parameter, not repeated in GROUP
BY), the outer one aggregates. Nothing is aggregated in Python.

Exact numbers on every database: sums, minima and maxima are over integers (money in 分);
an average and a ratio divide in SQL with ``NULLIF(denominator, 0)`` — PostgreSQL in
``numeric``, SQLite over the numerator scaled by 10^(places+1) in integers (no float), the
last digit then rounded half up — and come back as Decimal strings.

A percentile (``median``, ``p90``) is exact too: the k-th percentile of a group's n ordered
values, interpolated as ``percentile_cont`` does, times 100 is the integer
(100−f)·x_{l+1} + f·x_{l+2} with l = ⌊(n−1)·k/100⌋ and f = (n−1)·k mod 100. SQLite (and
PostgreSQL for a percentile other than the median, which ``percentile_cont`` would
interpolate in float8) ranks each group's values with window functions in a subquery between
the rows and the aggregate (``row_number()`` and ``count()`` over the groups) and sums the two
weighted values; PostgreSQL's median is ``percentile_cont(0.5) WITHIN GROUP (ORDER BY x)``
times 100 cast to bigint, exact since a median of integers below 2⁵² is a half-integer float8
holds exactly. Both come back as the same Decimal (``per`` divides it: seconds in hours).

A dataset with a ``Source`` (approval tasks of applications) reads its rows from the source's
join instead of the record type's table; the tenant, the viewer's scope
(``RecordAccess.where``) and the filters still apply to the record type's model in it.

Date buckets are taken in the tenant's time zone (``loandesk.reports.buckets``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from loandesk.errors import ValidationFailed
from loandesk.fields import search
from loandesk.fields.lists import ListState, compare
from loandesk.fields.registry import FieldSpec
from loandesk.fields.validation import message
from loandesk.i18n import N_
from loandesk.reports import buckets
from loandesk.reports.catalog import Catalog
from loandesk.reports.datasets import (
    BUCKETS,
    PERCENTILES,
    Dimension,
    Measure,
    bucketed,
    source_specs,
)

MAX_LIMIT = 1000
MAX_DIMENSIONS = 5
MAX_MEASURES = 20
REPORT_PROBLEMS = N_("Some report settings need attention.")


@dataclass(frozen=True)
class Column:
    key: str
    role: str  # "dimension" or "measure"
    convert: Callable[[Any], Any]
    bucket: str | None = None


@dataclass
class Compiled:
    statement: Select[Any]
    columns: list[Column]

    def run(self, session: Session) -> list[dict[str, Any]]:
        return [
            {c.key: c.convert(value) for c, value in zip(self.columns, row, strict=True)}
            for row in session.execute(self.statement)
        ]


@dataclass(frozen=True)
class QueryContext:
    """What a compiled query needs of its surroundings."""

    dialect: str
    timezone: str
    keys: Any
    session: Session | None = None  # SQLite: for the range of a bucketed datetime


def compile_report(catalog: Catalog, spec: Mapping[str, Any], context: QueryContext) -> Compiled:
    """``spec`` checked against ``catalog`` and compiled; ``ValidationFailed`` (422) naming
    every problem."""
    errors: dict[str, list[str]] = {}
    dimensions = _dimensions(catalog, spec.get("dimensions") or [], errors)
    measures = _measures(catalog, spec.get("measures") or [], errors)
    if not measures and "measures" not in errors:
        errors["measures"] = [message(N_("Choose at least one measure."))]
    limit = spec.get("limit")
    limit = MAX_LIMIT if limit is None else limit
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [message(N_("A limit from 1 to %(count)s."), count=MAX_LIMIT)]
    filters = spec.get("filters") or []
    resolved = None
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        errors["filter"] = [message(N_("Filters are a list of key:op:value."))]
    else:
        try:
            resolved = catalog.lists.resolve(ListState.of(filters=filters))
        except ValidationFailed as problem:
            errors.update(problem.errors or {})
    keys = [d[0] for d in dimensions] + [m.key for m in measures]
    sort = str(spec.get("sort") or "")
    if sort and sort.lstrip("-") not in keys:
        errors["sort"] = [message(N_("Sort by one of the report's columns."))]
    if errors:
        raise ValidationFailed(REPORT_PROBLEMS, errors=errors)
    assert resolved is not None
    return _Builder(catalog, context).build(dimensions, measures, resolved, sort, limit)


def _dimensions(
    catalog: Catalog, items: Any, errors: dict[str, list[str]]
) -> list[tuple[str, Dimension, FieldSpec | None, str | None]]:
    found: list[tuple[str, Dimension, FieldSpec | None, str | None]] = []
    if not isinstance(items, list) or len(items) > MAX_DIMENSIONS:
        errors["dimensions"] = [message(N_("At most %(count)s dimensions."), count=MAX_DIMENSIONS)]
        return found
    for index, item in enumerate(items):
        item = {"key": item} if isinstance(item, str) else item
        key = str(item.get("key", "")) if isinstance(item, dict) else ""
        bucket = item.get("bucket") if isinstance(item, dict) else None
        entry = catalog.dimensions.get(key)
        where = f"dimensions.{index}"
        if entry is None:
            errors[where] = [message(N_("No dimension %(key)s to group by."), key=key)]
        elif any(f[0] == key for f in found):
            errors[where] = [message(N_("%(key)s is already a dimension."), key=key)]
        elif bucket is not None and not bucketed(entry[1]):
            errors[where] = [message(N_("Only dates group by day, week, month, quarter or year."))]
        elif bucket is not None and bucket not in BUCKETS:
            errors[where] = [message(N_("Group dates by day, week, month, quarter or year."))]
        else:
            found.append(
                (key, entry[0], entry[1], bucket or ("day" if bucketed(entry[1]) else None))
            )
    return found


def _measures(catalog: Catalog, items: Any, errors: dict[str, list[str]]) -> list[Measure]:
    found: list[Measure] = []
    if not isinstance(items, list) or len(items) > MAX_MEASURES:
        errors["measures"] = [message(N_("At most %(count)s measures."), count=MAX_MEASURES)]
        return found
    for index, key in enumerate(items):
        measure = catalog.measures.get(key) if isinstance(key, str) else None
        if measure is None:
            errors[f"measures.{index}"] = [message(N_("No measure %(key)s."), key=str(key))]
        elif measure in found:
            errors[f"measures.{index}"] = [message(N_("%(key)s is already a measure."), key=key)]
        else:
            found.append(measure)
    return found


class _Builder:
    def __init__(self, catalog: Catalog, context: QueryContext) -> None:
        self.catalog = catalog
        self.context = context
        self.dataset = catalog.dataset
        self.model = catalog.access.record_type.model
        self.specs = {f.key: f for f in catalog.access.record_type.fields}
        self.specs.update(source_specs(self.dataset))
        self.sourced = (
            {c.key: c for c in self.dataset.source.columns} if self.dataset.source else {}
        )
        self.inner: list[ColumnElement[Any]] = []
        self.ranked: list[str] = []  # inner columns a percentile is taken of (ranked per group)

    def build(
        self,
        dimensions: Sequence[tuple[str, Dimension, FieldSpec | None, str | None]],
        measures: Sequence[Measure],
        resolved: Any,
        sort: str,
        limit: int,
    ) -> Compiled:
        names = [self._dimension(d, spec, bucket) for _, d, spec, bucket in dimensions]
        plans = [self._measure(m) for m in measures]
        if not self.inner:  # only counts of all records: the inner select still needs a column
            self._add(literal_column("1"))
        base = select(*self.inner).select_from(self._from())
        base = base.where(self.model.tenant_id == _tenant_id())
        base = resolved.where(
            self.catalog.access.where(base), self.context.dialect, self.context.keys
        )
        for condition in resolved.extra:  # on the source's own columns
            base = base.where(compare(self._value(condition.spec.key), condition))
        inner = base.subquery("report_rows")
        if self.ranked:
            inner = self._ranked(inner, names)
        outer_dims = [inner.c[name] for name in names]
        labelled = [c.label(f"d{i}") for i, c in enumerate(outer_dims)]
        outer_measures = [plan(inner).label(f"m{i}") for i, (plan, _) in enumerate(plans)]
        statement = select(*labelled, *outer_measures).select_from(inner).group_by(*outer_dims)
        columns = [Column(key, "dimension", _plain, bucket) for key, _, _, bucket in dimensions] + [
            Column(m.key, "measure", convert)
            for m, (_, convert) in zip(measures, plans, strict=True)
        ]
        by_key = dict(zip([c.key for c in columns], [*labelled, *outer_measures], strict=True))
        order = []
        if sort:
            chosen = by_key[sort.lstrip("-")]
            # no value last either way, on both databases (SQLite puts NULL first ascending)
            order.append(
                chosen.desc().nulls_last() if sort.startswith("-") else chosen.asc().nulls_last()
            )
        order += [c.asc().nulls_last() for c in labelled]
        return Compiled(statement.order_by(*order).limit(limit), columns)

    def _from(self) -> Any:
        """The record type's model, or the rows a sourced dataset joins to it."""
        source = self.dataset.source
        return (
            self.model if source is None else source.select_from(self.model, self.context.dialect)
        )

    def _ranked(self, inner: Any, names: Sequence[str]) -> Any:
        """``inner`` with, for each value a percentile is taken of, its rank among its group's
        values (``r_<name>``: NULLs ranked apart) and how many values its group has
        (``n_<name>``) — window functions in a subquery between the rows and the aggregate."""
        groups = [inner.c[name] for name in names]
        ranks = []
        for name in self.ranked:
            value = inner.c[name]
            ranks.append(
                func.row_number()
                .over(partition_by=[*groups, value.is_(None)], order_by=value)
                .label(f"r_{name}")
            )
            ranks.append(func.count(value).over(partition_by=groups or None).label(f"n_{name}"))
        return select(inner, *ranks).subquery("report_ranked")

    # --- inner values ----------------------------------------------------------------------

    def _add(self, expression: ColumnElement[Any]) -> str:
        name = f"c{len(self.inner)}"
        self.inner.append(expression.label(name))
        return name

    def _value(self, key: str) -> ColumnElement[Any]:
        if key in self.sourced:
            expression: ColumnElement[Any] = self.sourced[key].expression(self.context.dialect)
            return expression
        spec = self.specs[key]
        if spec.custom:
            return search.value_expression(self.model, spec, self.context.dialect)
        column: ColumnElement[Any] = getattr(self.model, spec.source)
        return column

    def _dimension(self, dimension: Dimension, spec: FieldSpec | None, bucket: str | None) -> str:
        """The name of the inner column holding the dimension's value (a bucket's first day)."""
        if spec is None:
            assert dimension.column is not None
            return self._add(dimension.column(self.model))
        value = self._value(spec.key)
        return self._add(self._bucket(value, spec, bucket) if bucket else value)

    def _bucket(self, value: ColumnElement[Any], spec: FieldSpec, bucket: str) -> Any:
        local = spec.value_kind == "datetime"
        if self.context.dialect == "postgresql":
            if local:
                value = func.timezone(self.context.timezone, value)
            else:
                value = cast(cast(value, Date), DateTime)
            return cast(func.date_trunc(bucket, value), Date)
        if local:
            value = self._sqlite_local(value)
        return buckets.sqlite_bucket(value, bucket)

    def _sqlite_local(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """``value`` shifted to the tenant's local time over the range the data spans."""
        session = self.context.session
        assert session is not None, "SQLite needs the session for a zone's offsets"
        low, high = session.execute(
            self.catalog.access.where(
                select(func.min(value), func.max(value))
                .select_from(self._from())
                .where(self.model.tenant_id == _tenant_id())
            )
        ).one()
        return buckets.sqlite_local(value, ZoneInfo(self.context.timezone), low, high)

    def _measure(self, measure: Measure) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """How the outer select computes ``measure`` over the inner columns, and how its value
        is given back."""
        if measure.aggregate == "ratio":
            numerator = self._exact(self.dataset.measure(measure.numerator or ""))
            denominator = self._exact(self.dataset.measure(measure.denominator or ""))
            places = measure.places
            return (  # a sum over no matching rows is NULL: as a numerator it is 0
                lambda inner: self._divide(
                    func.coalesce(numerator(inner), 0), denominator(inner), places
                ),
                self._quotient(places, 0),
            )
        spec = self.specs.get(measure.field or "")
        money = spec is not None and spec.value_kind == "money"
        if measure.aggregate in PERCENTILES:
            return self._percentile(measure, money)
        if measure.aggregate == "avg":
            total, count = self._sum_and_count(measure)
            per = measure.per
            # an average of money in whole 分; one given ``per`` a unit with ``places``
            places = measure.places if per != 1 else 0 if money else 2
            return (
                lambda inner: self._divide(total(inner), _times(count(inner), per), places),
                self._quotient(places, 2 if money else 0),
            )
        return self._exact(measure), _money if money else _plain

    def _percentile(
        self, measure: Measure, money: bool
    ) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """A percentile of the measure's values per group, as an exact integer: the value
        times 100. The k-th percentile of n ordered values x₁…xₙ lies at h = (n−1)·k/100:
        100·x = (100−f)·x_{l+1} + f·x_{l+2} with l = ⌊h⌋ and f = 100·(h−l), all integers.
        SQLite (and PostgreSQL for other percentiles than the median) picks the two values
        by their rank in the group (``_ranked``); PostgreSQL's median is ``percentile_cont
        (0.5)``, exact although in float8: a value is a half-integer far below 2⁵³."""
        name = self._add(self._input(measure))
        percent = PERCENTILES[measure.aggregate]
        places = measure.places if measure.per != 1 else 0 if money else 2
        convert = self._scaled(100 * measure.per, places, 2 if money else 0)
        if self.context.dialect == "postgresql" and percent == 50:
            return (
                lambda inner: cast(
                    func.percentile_cont(0.5).within_group(inner.c[name]) * 100, BigInteger
                ),
                convert,
            )
        self.ranked.append(name)

        def picked(rows: Any) -> Any:
            value, rank, count = rows.c[name], rows.c[f"r_{name}"], rows.c[f"n_{name}"]
            # integer division (never FLOOR(): SQLAlchemy gives SQLite a Python one)
            low = ((count - 1) * percent).op("/")(100)
            fraction = (count - 1) * percent % 100
            lower = case((rank == low + 1, value * (100 - fraction)))
            upper = case((rank == low + 2, value * fraction))
            return type_coerce(func.sum(func.coalesce(lower, upper)), BigInteger)

        return picked, convert

    def _scaled(self, scale: int, places: int, shift: int) -> Callable[[Any], Any]:
        """An exact integer divided by ``scale``, rounded half up to ``places``, then moved
        ``shift`` places right (money in 分 shown in yuan)."""

        def convert(value: Any) -> str | None:
            if value is None:
                return None
            exact = (Decimal(int(value)) / Decimal(scale)).quantize(
                Decimal(1).scaleb(-places), ROUND_HALF_UP
            )
            return str(exact.scaleb(-shift)) if shift else str(exact)

        return convert

    def _exact(self, measure: Measure | None) -> Callable[[Any], Any]:
        """An integer aggregate (count, distinct count, sum, min, max) over the inner rows."""
        assert measure is not None and measure.aggregate not in ("ratio", "avg")
        if measure.aggregate == "count":
            if measure.when is None:
                return lambda inner: func.count()
            name = self._add(case((self._when(measure), literal(1))))
            return lambda inner: func.count(inner.c[name])
        name = self._add(self._input(measure))
        if measure.aggregate == "count_distinct":
            return lambda inner: func.count(distinct(inner.c[name]))
        function = getattr(func, measure.aggregate)  # sum, min or max
        return lambda inner: type_coerce(function(inner.c[name]), BigInteger)

    def _sum_and_count(self, measure: Measure) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        name = self._add(self._input(measure))
        return (
            lambda inner: type_coerce(func.sum(inner.c[name]), BigInteger),
            lambda inner: func.count(inner.c[name]),
        )

    def _input(self, measure: Measure) -> ColumnElement[Any]:
        """The value a measure aggregates: raw integers (money in 分, not the Money type's
        Decimal), only where ``when`` holds."""
        spec = self.specs[measure.field or ""]
        value = self._value(spec.key)
        if not spec.custom and spec.value_kind in ("integer", "money"):
            value = type_coerce(value, BigInteger)
        if measure.when is None:
            return value
        return case((self._when(measure), value))

    def _when(self, measure: Measure) -> ColumnElement[bool]:
        assert measure.when is not None
        key, values = measure.when
        return self._value(key).in_([type_coerce(v, String) for v in values])

    def _divide(self, numerator: Any, denominator: Any, places: int) -> Any:
        if self.context.dialect == "postgresql":
            return cast(numerator, Numeric) / func.nullif(denominator, 0)
        scale = literal_column(str(10 ** (places + 1)), Integer)
        # SQLite divides integers truncating toward zero; ``//`` would be FLOOR(), which
        # SQLAlchemy gives SQLite as a Python function that fails on NULL (a zero denominator)
        return type_coerce((numerator * scale).op("/")(func.nullif(denominator, 0)), BigInteger)

    def _quotient(self, places: int, shift: int) -> Callable[[Any], Any]:
        """The value of a division: rounded half up to ``places``, then moved ``shift`` places
        right (an average of money in 分 shown in yuan)."""
        sqlite = self.context.dialect != "postgresql"

        def convert(value: Any) -> str | None:
            if value is None:
                return None
            if sqlite:  # the quotient scaled by 10^(places+1), truncated toward zero
                scaled = int(value)
                rounded = (abs(scaled) + 5) // 10 * (1 if scaled >= 0 else -1)
                exact = Decimal(rounded).scaleb(-places)
            else:
                exact = Decimal(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
            return str(exact.scaleb(-shift)) if shift else str(exact)

        return convert


def _tenant_id() -> Any:
    from loandesk.tenancy import current_id

    return current_id()


def _times(count: Any, per: int) -> Any:
    return count if per == 1 else count * literal_column(str(per), Integer)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _money(value: Any) -> str | None:
    return None if value is None else str(Decimal(int(value)).scaleb(-2))


__all__ = ["Catalog", "Compiled", "QueryContext", "compile_report"]
