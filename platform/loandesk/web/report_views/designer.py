"""The designer's form (报表设计器): what it posts, turned into a report spec, and back.

One form holds the whole report. Chosen dimensions post in their order as ``dimension``
(``status``, or for a date ``created_at:month``), measures as ``measure``, filters as rows
(``fk``, ``fo``, ``fv``: key, operator, value, as the record lists' filter form), then
``sort``, ``limit`` and ``chart_type``; ``name``, ``description`` and ``role`` (the roles it
is shared with) only matter when saving. Buttons add or remove one item (``add_dimension``,
``add_measure``, ``drop_dimension``, ``drop_measure``, ``add_filter``, ``drop_filter``);
dragging (static/js/reports.js) only reorders the posted inputs or adds one of them. Every
change posts the form to the preview, which answers with the form and the chart again.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from loandesk.fields.lists import NO_VALUE
from loandesk.reports.catalog import Catalog
from loandesk.reports.datasets import bucketed
from loandesk.reports.models import CHART_TYPES
from loandesk.reports.query import MAX_DIMENSIONS, MAX_LIMIT

DEFAULT_LIMIT = 100


@dataclass
class State:
    """The report as the form holds it."""

    dataset: str = ""
    dimensions: list[dict[str, str]] = field(default_factory=list)  # {"key", "bucket"?}
    measures: list[str] = field(default_factory=list)
    filters: list[tuple[str, str, str]] = field(default_factory=list)  # (key, op, value)
    sort: str = ""
    limit: int | str = DEFAULT_LIMIT
    chart_type: str = "table"
    name: str = ""
    description: str = ""
    roles: list[str] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        """The report spec ``reports.service.run`` takes."""
        limit: Any = self.limit
        with suppress(ValueError):  # else refused by the engine, next to the field
            limit = int(str(limit).strip())
        return {
            "dataset": self.dataset,
            "dimensions": [dict(d) for d in self.dimensions],
            "measures": list(self.measures),
            "filters": [
                f"{k}:{o}" + ("" if o in NO_VALUE else f":{v}") for k, o, v in self.filters if k
            ],
            "sort": self.sort,
            "limit": limit,
        }

    def saved(self) -> dict[str, Any]:
        """What ``reports.saved.create`` / ``update`` take."""
        spec = self.spec()
        return {
            "name": self.name,
            "description": self.description,
            "dataset": spec.pop("dataset"),
            "spec": spec,
            "chart_type": self.chart_type,
            "shared_with_roles": list(self.roles),
        }

    @property
    def ready(self) -> bool:
        """Enough chosen to run (a report needs a measure)."""
        return bool(self.dataset and self.measures)

    def dimension_keys(self) -> list[str]:
        return [d["key"] for d in self.dimensions]


def of_report(row: Any) -> State:
    """A saved report's state."""
    spec = row.spec or {}
    dimensions = [
        {"key": d} if isinstance(d, str) else {k: str(v) for k, v in d.items() if v}
        for d in spec.get("dimensions") or []
    ]
    filters = []
    for text in spec.get("filters") or []:
        parts = str(text).split(":", 2)
        filters.append(
            (parts[0], parts[1] if len(parts) > 1 else "eq", parts[2] if len(parts) > 2 else "")
        )
    return State(
        dataset=row.dataset,
        dimensions=dimensions,
        measures=list(spec.get("measures") or []),
        filters=filters,
        sort=str(spec.get("sort") or ""),
        limit=spec.get("limit") or DEFAULT_LIMIT,
        chart_type=row.chart_type,
        name=row.name,
        description=row.description or "",
        roles=list(row.shared_with_roles or []),
    )


def posted(form: MultiDict[str, str], catalog: Catalog | None) -> State:
    """The state the form posts, with the one change its clicked button asks for."""
    state = State(
        dataset=form.get("dataset", ""),
        sort=form.get("sort", ""),
        limit=form.get("limit", str(DEFAULT_LIMIT)),
        chart_type=form.get("chart_type", "table"),
        name=form.get("name", ""),
        description=form.get("description", ""),
        roles=[r for r in form.getlist("role") if r],
    )
    if state.chart_type not in CHART_TYPES:
        state.chart_type = "table"
    if form.get("previous_dataset", state.dataset) != state.dataset:
        return state  # another dataset: its own dimensions and measures
    for text in form.getlist("dimension"):
        key, _, bucket = text.partition(":")
        if key and key not in state.dimension_keys():
            state.dimensions.append({"key": key, **({"bucket": bucket} if bucket else {})})
    for key in form.getlist("measure"):
        if key and key not in state.measures:
            state.measures.append(key)
    keys, ops, values = form.getlist("fk"), form.getlist("fo"), form.getlist("fv")
    for index, key in enumerate(keys):
        op = ops[index] if index < len(ops) else "eq"
        state.filters.append((key, op or "eq", values[index] if index < len(values) else ""))
    _change(state, form, catalog)
    return state


def _change(state: State, form: Mapping[str, str], catalog: Catalog | None) -> None:
    key = form.get("add_dimension")
    if key and key not in state.dimension_keys() and len(state.dimensions) < MAX_DIMENSIONS:
        entry = catalog.dimensions.get(key) if catalog else None
        dated = entry is not None and bucketed(entry[1])
        state.dimensions.append({"key": key, **({"bucket": "month"} if dated else {})})
    if (key := form.get("add_measure")) and key not in state.measures:
        state.measures.append(key)
    if (dropped := _index(form.get("drop_dimension"))) is not None:
        removed = state.dimensions.pop(dropped)["key"] if dropped < len(state.dimensions) else ""
        if state.sort.lstrip("-") == removed:
            state.sort = ""
    if (dropped := _index(form.get("drop_measure"))) is not None:
        removed = state.measures.pop(dropped) if dropped < len(state.measures) else ""
        if state.sort.lstrip("-") == removed:
            state.sort = ""
    if form.get("add_filter"):
        first = catalog.lists.filterable()[0].key if catalog and catalog.lists.filterable() else ""
        state.filters.append((first, "eq", ""))
    if (dropped := _index(form.get("drop_filter"))) is not None and dropped < len(state.filters):
        state.filters.pop(dropped)
    if state.limit == "":
        state.limit = MAX_LIMIT


def _index(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def field_errors(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Problems keyed where the form shows them: ``spec.dimensions.0`` → ``dimensions.0``,
    a filter's ``filter.1`` as it is."""
    return {key.removeprefix("spec."): list(found) for key, found in errors.items()}
