"""Record lists that users shape: which columns, which filters, which order (列表视图).

Generic over record types. A ``ListState`` is what a user asked for (from a URL, API query
or a saved view): column keys, filters written ``key:op:value`` and a sort key (``-`` first
for descending). ``RecordList.resolve`` checks it against the user's ``RecordAccess`` and the
tenant's form, parsing filter values with ``loandesk.fields.values.parse``; ``Resolved``
turns it into SQL (``where``, ``order``).

What a user may do with a field follows their field permission, so a list never tells more
than the record's page would:
- columns, filters and sorting name only fields the user may see; a hidden or unknown field
  is refused with the same message (the list does not confirm that a hidden field exists);
- a masked field cannot be sorted on, and filtered only by exact match when it is personal
  data (as the search box finds a whole mobile number); a range or "contains" on a masked
  value would reveal it bit by bit;
- personal data (encrypted kinds) is compared by keyed hash: exact match only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from loandesk.errors import ValidationFailed
from loandesk.fields import search
from loandesk.fields.registry import ENCRYPTED_KINDS, NUMERIC_KINDS, FieldSpec
from loandesk.fields.validation import message
from loandesk.fields.values import Context, Invalid, parse
from loandesk.i18n import N_

MAX_FILTERS = 20

# Operator -> (English label, Chinese label comes from the catalog); the order is the menu's.
OPERATORS: dict[str, str] = {
    "eq": N_("is"),
    "ne": N_("is not"),
    "contains": N_("contains"),
    "lt": N_("less than"),
    "le": N_("at most"),
    "gt": N_("more than"),
    "ge": N_("at least"),
    "in": N_("is one of"),
    "empty": N_("is empty"),
    "not_empty": N_("is not empty"),
}
NO_VALUE = ("empty", "not_empty")
_ORDERED = ("eq", "ne", "lt", "le", "gt", "ge", "empty", "not_empty")
_TEXT_KINDS = ("text", "long_text", "name", "email")
_UNSORTABLE = (*ENCRYPTED_KINDS, "multi_select", "attachment", "user", "org_unit", "link")
LIST_PROBLEMS = N_("Some list settings need attention.")


def operators_for(spec: FieldSpec) -> tuple[str, ...]:
    """The filter operators that fit ``spec``'s kind."""
    kind = spec.value_kind
    if spec.encrypted:
        return ("eq", "empty", "not_empty")
    if kind in NUMERIC_KINDS or kind in ("date", "datetime"):
        return _ORDERED
    if kind in _TEXT_KINDS:
        return ("eq", "ne", "contains", "empty", "not_empty")
    if kind == "select":
        return ("eq", "ne", "in", "empty", "not_empty")
    if kind == "multi_select":
        return ("contains", "empty", "not_empty")
    if kind == "boolean":
        return ("eq", "empty", "not_empty")
    if kind in ("user", "org_unit", "link", "region"):
        return ("eq", "ne", "in", "empty", "not_empty")
    return ("empty", "not_empty")


@dataclass(frozen=True)
class Filter:
    key: str
    op: str
    value: str = ""

    def __str__(self) -> str:
        return f"{self.key}:{self.op}" + ("" if self.op in NO_VALUE else f":{self.value}")


def parse_filter(text: str) -> Filter:
    """``"monthly_income:ge:5000"`` -> Filter (the value may hold colons); ``ValueError``
    when it is not ``key:op[:value]``."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(text)
    return Filter(parts[0].strip(), parts[1].strip(), parts[2] if len(parts) == 3 else "")


@dataclass(frozen=True)
class ListState:
    """What a user asked a list to show; empty parts take the list's defaults."""

    columns: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    sort: str = ""

    @classmethod
    def of(
        cls, columns: Iterable[str] = (), filters: Iterable[str | Filter] = (), sort: str = ""
    ) -> ListState:
        """From API or URL parts; a filter that is not ``key:op[:value]`` is kept as an
        unknown operator, so that ``resolve`` names it instead of dropping it."""
        parsed = []
        for item in filters:
            if isinstance(item, Filter):
                parsed.append(item)
                continue
            try:
                parsed.append(parse_filter(item))
            except ValueError:
                parsed.append(Filter(item, "", ""))
        keys = tuple(k.strip() for k in columns if k.strip())
        return cls(tuple(dict.fromkeys(keys)), tuple(parsed), sort.strip())

    @property
    def empty(self) -> bool:
        return not (self.columns or self.filters or self.sort)

    def params(self) -> dict[str, Any]:
        """Query parameters that give this state back (for links and the pushed URL)."""
        found: dict[str, Any] = {}
        if self.columns:
            found["columns"] = ",".join(self.columns)
        if self.filters:
            found["filter"] = [str(f) for f in self.filters]
        if self.sort:
            found["sort"] = self.sort
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "filters": [str(f) for f in self.filters],
            "sort": self.sort,
        }


@dataclass(frozen=True)
class Condition:
    spec: FieldSpec
    op: str
    value: Any


@dataclass
class Resolved:
    """A checked list state: the columns to show, the conditions, the order."""

    model: Any
    columns: list[FieldSpec]
    conditions: list[Condition]
    sort: FieldSpec | None
    descending: bool
    state: ListState
    errors: dict[str, list[str]] = field(default_factory=dict)
    # conditions on the list's ``extra`` values (not columns of the model): the caller, who
    # knows their SQL, applies them with ``compare``
    extra: list[Condition] = field(default_factory=list)

    @property
    def sort_key(self) -> str:
        if self.sort is None:
            return ""
        return ("-" if self.descending else "") + self.sort.key

    def where(self, statement: Select[Any], dialect: str, keys: Any) -> Select[Any]:
        for condition in self.conditions:
            statement = statement.where(clause(self.model, condition, dialect, keys))
        return statement

    def order(self, statement: Select[Any], dialect: str) -> Select[Any]:
        """Ordered by the sort field, empty values last, then by id (a stable order: pages
        never repeat or skip a row when values tie)."""
        ident = self.model.id
        if self.sort is None:
            return statement.order_by(ident.desc())
        value = sort_expression(self.model, self.sort, dialect)
        if self.descending:
            return statement.order_by(value.desc().nulls_last(), ident.desc())
        return statement.order_by(value.asc().nulls_last(), ident.asc())


@dataclass
class RecordList:
    """The list of one record type as one user may shape it (their ``RecordAccess``).
    ``default_columns`` (empty: every visible field) and ``default_sort`` apply when the
    state names none."""

    access: Any  # loandesk.rbac.access.RecordAccess
    default_columns: Sequence[str] = ()
    default_sort: str = ""
    context: Context | None = None
    # values that are no field of the record type but may be filtered by, parsed like one
    # (a report's source columns); their conditions come back in ``Resolved.extra``
    extra: Mapping[str, FieldSpec] = field(default_factory=dict)

    @property
    def model(self) -> Any:
        return self.access.record_type.model

    def visible(self) -> dict[str, FieldSpec]:
        return {f.key: f for f in self.access.visible_fields()}

    def filterable(self) -> list[FieldSpec]:
        """Fields the user may filter by: built-in ones marked filterable, searchable custom
        ones; masked ones only when they are personal data (exact match)."""
        return [
            f
            for f in self.access.visible_fields()
            if (f.searchable if f.custom else f.filterable)
            and (self.access.access(f.key) != "masked" or f.encrypted)
        ] + list(self.extra.values())

    def sortable(self) -> list[FieldSpec]:
        return [
            f
            for f in self.access.visible_fields()
            if f.kind not in _UNSORTABLE
            and not f.encrypted
            and self.access.access(f.key) != "masked"
            and (f.custom or hasattr(self.model, f.source))
        ]

    def operators(self, spec: FieldSpec) -> tuple[str, ...]:
        if spec.key not in self.extra and self.access.access(spec.key) == "masked":
            return ("eq",)
        return operators_for(spec)

    def resolve(self, state: ListState, *, strict: bool = True) -> Resolved:
        """``state`` checked and parsed. ``strict``: a problem raises ``ValidationFailed``
        (422) naming it (``columns``, ``sort``, ``filter.N``); otherwise the bad parts are
        left out and reported in ``errors`` (a saved view whose field was hidden since)."""
        visible = self.visible()
        errors: dict[str, list[str]] = {}
        keys = state.columns or tuple(k for k in self.default_columns if k in visible)
        unknown = [k for k in keys if k not in visible]
        if unknown and state.columns:
            errors["columns"] = [
                message(N_("No field %(field)s to show."), field=", ".join(unknown))
            ]
        columns = [visible[k] for k in keys if k in visible] or list(visible.values())
        conditions: list[Condition] = []
        extra: list[Condition] = []
        if len(state.filters) > MAX_FILTERS:
            errors["filter"] = [message(N_("At most %(count)s filters."), count=MAX_FILTERS)]
        filterable = {f.key: f for f in self.filterable()}
        for index, item in enumerate(state.filters[:MAX_FILTERS]):
            problem, condition = self._condition(item, filterable)
            if problem:
                errors[f"filter.{index}"] = [problem]
            elif condition is not None:
                (extra if item.key in self.extra else conditions).append(condition)
        sort_text = state.sort or self.default_sort
        descending = sort_text.startswith("-")
        sort_key = sort_text.lstrip("-+ ")
        sortable = {f.key: f for f in self.sortable()}
        sort = sortable.get(sort_key) if sort_key else None
        if sort_key and sort is None:
            if state.sort:
                errors["sort"] = [message(N_("Cannot sort by %(field)s."), field=sort_key)]
            descending = True
        if errors and strict:
            raise ValidationFailed(LIST_PROBLEMS, errors=errors)
        return Resolved(self.model, columns, conditions, sort, descending, state, errors, extra)

    def _condition(
        self, item: Filter, filterable: Mapping[str, FieldSpec]
    ) -> tuple[str | None, Condition | None]:
        spec = filterable.get(item.key)
        if spec is None:
            return message(N_("No field %(field)s to filter by."), field=item.key), None
        if item.op not in self.operators(spec):
            return message(N_("This filter does not fit %(field)s."), field=item.key), None
        if item.op in NO_VALUE:
            return None, Condition(spec, item.op, None)
        relaxed = filter_spec(spec)
        try:
            if item.op == "in":
                raw = [p for p in item.value.split(",") if p.strip()]
                value: Any = [parse(relaxed, p, self.context) for p in raw]
            else:
                value = parse(relaxed, item.value, self.context)
        except Invalid as problem:
            return message(problem.message, **problem.params), None
        if value is None or value == []:
            return message(N_("Enter a value to filter by.")), None
        if spec.kind == "multi_select" and isinstance(value, list):
            value = value[0]
        return None, Condition(spec, item.op, value)

    def statements(
        self,
        statement: Select[Any],
        resolved: Resolved,
        *,
        dialect: str,
        keys: Any,
        page: int = 1,
        per_page: int = 20,
    ) -> tuple[Select[Any], Select[Any]]:
        """The SQL of one page and of the total: ``statement`` (already narrowed to the
        user's scope) filtered and ordered as ``resolved`` says."""
        filtered = resolved.where(statement, dialect, keys)
        total = select(func.count()).select_from(filtered.subquery())
        per_page, page = max(1, per_page), max(1, page)
        rows = resolved.order(filtered, dialect).offset((page - 1) * per_page).limit(per_page)
        return rows, total

    def page(
        self,
        session: Session,
        statement: Select[Any],
        resolved: Resolved,
        *,
        keys: Any,
        page: int = 1,
        per_page: int = 20,
    ) -> Page:
        """One page of ``statement`` filtered and ordered as ``resolved`` says, with the
        total."""
        dialect = session.get_bind().dialect.name
        rows, total = self.statements(
            statement, resolved, dialect=dialect, keys=keys, page=page, per_page=per_page
        )
        items = session.scalars(rows).all()
        return Page(list(items), session.scalar(total) or 0, max(1, page), max(1, per_page))


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def filter_spec(spec: FieldSpec) -> FieldSpec:
    """``spec`` as a filter value parses: a computed field's result kind, and no limits (a
    filter may ask for values a record could not hold, e.g. income at least 0)."""
    return dataclasses.replace(
        spec,
        kind=spec.value_kind,  # type: ignore[arg-type]
        minimum=None,
        maximum=None,
        min_length=None,
        pattern=None,
        required=False,
        result=None,
    )


def sort_expression(model: Any, spec: FieldSpec, dialect: str) -> ColumnElement[Any]:
    if spec.custom:
        return search.value_expression(model, spec, dialect)
    column: ColumnElement[Any] = getattr(model, spec.source)
    return column


def clause(model: Any, condition: Condition, dialect: str, keys: Any) -> ColumnElement[bool]:
    """The WHERE clause of one condition: custom fields through ``search.filter_clause``
    (the expression its PostgreSQL index holds), built-in ones on their column."""
    spec, op, value = condition.spec, condition.op, condition.value
    if spec.custom:
        return search.filter_clause(model, spec, op, value, dialect, keys)
    if spec.encrypted:
        digest = getattr(model, f"{spec.source}_hash")
        if op == "empty":
            return digest.is_(None)
        if op == "not_empty":
            return digest.is_not(None)
        result: ColumnElement[bool] = model.personal_match(spec.source, str(value), keys=keys)
        return result
    return compare(getattr(model, spec.source), condition)


def compare(column: Any, condition: Condition) -> ColumnElement[bool]:
    """``condition`` on ``column``, a plain value (not a custom or personal field)."""
    spec, op, value = condition.spec, condition.op, condition.value
    if op == "empty":
        if spec.value_kind in _TEXT_KINDS:
            return or_(column.is_(None), column == "")
        return column.is_(None)
    if op == "not_empty":
        if spec.value_kind in _TEXT_KINDS:
            return and_(column.is_not(None), column != "")
        return column.is_not(None)
    if op == "contains":
        return column.contains(str(value), autoescape=True)
    if op == "in":
        return column.in_(value)
    operators = {
        "eq": column.__eq__,
        "ne": column.__ne__,
        "lt": column.__lt__,
        "le": column.__le__,
        "gt": column.__gt__,
        "ge": column.__ge__,
    }
    return operators[op](value)


__all__ = [
    "OPERATORS",
    "Filter",
    "ListState",
    "Page",
    "RecordList",
    "Resolved",
    "compare",
    "operators_for",
    "parse_filter",
]
