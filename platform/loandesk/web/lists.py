"""Record lists in the web UI, for any record type: reading the list state from a request,
and ``ListPage``, what ``templates/partials/record_list.html`` renders (filters, columns,
saved views, the table, pagination, the empty state).

The URL always carries the state (``columns``, ``filter``, ``sort``, ``view``, ``page``),
so a list can be reloaded, bookmarked and shared. The filter form posts rows (``fk``, ``fo``,
``fv``: field, operator, value) and ticked columns (``col``); links are built from the
canonical ``filter=key:op:value`` form.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import g, url_for
from werkzeug.datastructures import MultiDict

from loandesk import extension
from loandesk.fields import saved_views
from loandesk.fields.lists import NO_VALUE, OPERATORS, Filter, ListState, Page, RecordList, Resolved
from loandesk.fields.registry import FieldSpec


@dataclass(frozen=True)
class Asked:
    state: ListState
    view_id: uuid.UUID | None
    explicit: bool  # the request named a list state (else the view or default view applies)
    add_row: bool


def asked(args: MultiDict[str, str]) -> Asked:
    """The list state a request asks for."""
    filters: list[str | Filter] = list(args.getlist("filter"))
    keys, ops, values = args.getlist("fk"), args.getlist("fo"), args.getlist("fv")
    dropped = args.get("drop", type=int)
    for index, key in enumerate(keys):
        op = ops[index] if index < len(ops) else "eq"
        value = values[index] if index < len(values) else ""
        if key and index != dropped:
            filters.append(Filter(key, op or "eq", value))
    if "cols" in args:  # the column chooser was submitted
        columns = list(args.getlist("col"))
        moved = args.get("up")
        if moved in columns and columns.index(moved) > 0:
            at = columns.index(moved)
            columns[at - 1], columns[at] = columns[at], columns[at - 1]
    else:
        columns = [c for c in args.get("columns", "").split(",") if c.strip()]
    state = ListState.of(columns, filters, args.get("sort", ""))
    view = args.get("view", "")
    try:
        view_id = uuid.UUID(view) if view else None
    except ValueError:
        view_id = None
    return Asked(state, view_id, not state.empty, bool(args.get("add")))


def chosen(listing: RecordList, request_args: MultiDict[str, str]) -> tuple[Asked, Any]:
    """What the request asks for, and the saved view that applies (named, or the user's
    default when the request names no state); an unknown view id is ignored."""
    found = asked(request_args)
    session = extension.session()
    record_type = listing.access.record_type.key
    view = None
    if found.view_id is not None:
        try:
            view = saved_views.get_view(session, g.user.id, found.view_id)
        except Exception:  # another user's or a deleted view: show the plain list
            view = None
        if view is not None and view.record_type != record_type:
            view = None
    elif not found.explicit and "cleared" not in request_args:
        view = saved_views.default_view(session, g.user.id, record_type)
    if view is not None and not found.explicit:
        found = Asked(view.state, view.id, False, found.add_row)
    return found, view


@dataclass
class ListPage:
    """One rendered list. ``access``, ``names`` and ``locale`` make it usable as the
    ``view`` argument of the ``field_value`` macro."""

    endpoint: str
    target: str
    listing: RecordList
    resolved: Resolved
    result: Page
    rows: Sequence[tuple[Any, Mapping[str, Any]]]
    locale: str
    names: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: list[Any] = field(default_factory=list)
    view: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # the plugin's own filters (q, status)
    add_row: bool = False
    detail_endpoint: str = ""
    detail_arg: str = ""

    @property
    def access(self) -> Any:
        return self.listing.access

    @property
    def state(self) -> ListState:
        return self.resolved.state

    @property
    def columns(self) -> list[FieldSpec]:
        return self.resolved.columns

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.resolved.errors

    @property
    def filter_errors(self) -> bool:
        """A filter could not be applied: the list is not shown rather than shown wider."""
        return any(k.startswith("filter") for k in self.errors)

    @property
    def filtered(self) -> bool:
        return bool(self.state.filters or any(self.extra.values()))

    def params(self, **changes: Any) -> dict[str, Any]:
        found: dict[str, Any] = {k: v for k, v in self.extra.items() if v}
        found.update(self.state.params())
        if self.view is not None:
            found["view"] = str(self.view.id)
        found.update(changes)
        return {k: v for k, v in found.items() if v not in (None, "", [])}

    def url(self, **changes: Any) -> str:
        return url_for(self.endpoint, **self.params(**changes))

    def sort_url(self, spec: FieldSpec) -> str:
        current = self.resolved.sort_key
        return self.url(sort=("-" + spec.key) if current == spec.key else spec.key, page=None)

    def sorted_as(self, spec: FieldSpec) -> str:
        """``ascending`` / ``descending`` / ``none`` (for aria-sort)."""
        if self.resolved.sort is None or self.resolved.sort.key != spec.key:
            return "none"
        return "descending" if self.resolved.descending else "ascending"

    @property
    def sortable(self) -> set[str]:
        return {f.key for f in self.listing.sortable()}

    @property
    def filterable(self) -> list[FieldSpec]:
        return self.listing.filterable()

    def operators(self, spec: FieldSpec) -> list[tuple[str, str]]:
        return [(op, OPERATORS[op]) for op in self.listing.operators(spec)]

    @property
    def all_operators(self) -> list[tuple[str, str]]:
        return list(OPERATORS.items())

    @property
    def no_value(self) -> tuple[str, ...]:
        return NO_VALUE

    @property
    def column_choices(self) -> list[tuple[FieldSpec, bool]]:
        """Chosen columns in their order, then the other visible fields."""
        chosen_keys = [f.key for f in self.columns]
        rest = [f for f in self.listing.access.visible_fields() if f.key not in chosen_keys]
        return [(f, True) for f in self.columns] + [(f, False) for f in rest]

    def clear_url(self) -> str:
        return url_for(self.endpoint, cleared=1)

    def detail_url(self, record: Any) -> str:
        if not self.detail_endpoint:
            return ""
        return url_for(self.detail_endpoint, **{self.detail_arg: record.id})
