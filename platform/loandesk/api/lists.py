"""What every record list of the API shares: the ``columns``, ``filter``, ``sort`` and
``view`` query arguments (``loandesk.fields.lists``), and a record schema that also carries
the tenant's custom fields under their keys."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma

from loandesk.api.schemas import PageArgs
from loandesk.fields.lists import ListState

FILTER_HELP = (
    "A filter `key:op:value`, e.g. `monthly_income:ge:5000`; repeat it for several (all must "
    "hold). Operators: eq, ne, lt, le, gt, ge (numbers and dates), contains (text), in "
    "(comma-separated values), empty, not_empty (no value). Personal data (ID number, mobile, "
    "bank card, address) matches whole values only (eq). Built-in fields the record type "
    "marks filterable and searchable custom fields can be filtered; a field the acting staff "
    "member may not see, or sees masked, is refused with 422 like an unknown one."
)


class ListArgs(PageArgs):
    columns = ma.fields.String(
        load_default="",
        metadata={
            "description": "Comma-separated field keys: the fields each item holds, in order "
            "(default: every field the acting staff member may see)"
        },
    )
    filter = ma.fields.List(
        ma.fields.String(), load_default=list, metadata={"description": FILTER_HELP}
    )
    sort = ma.fields.String(
        load_default="",
        metadata={
            "description": "A field key to sort by, `-` first for descending "
            "(`-created_at`); ties are ordered by id, so pages are stable"
        },
    )
    view = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "A saved view of the acting staff member (`/views`): its columns, "
            "filters and sort apply unless `columns`, `filter` or `sort` are given"
        },
    )


def state_of(args: dict[str, Any]) -> ListState:
    """The list state of parsed ``ListArgs`` (popping them from ``args``)."""
    columns = [c for c in str(args.pop("columns", "") or "").split(",") if c.strip()]
    return ListState.of(columns, args.pop("filter", None) or (), args.pop("sort", "") or "")


def view_state(args: dict[str, Any], user_id: uuid.UUID, record_type: str) -> ListState:
    """The state asked for: explicit arguments, else the named view, else the user's default
    view of ``record_type``, else the list's defaults."""
    from loandesk import extension
    from loandesk.fields import saved_views

    view_id = args.pop("view", None)
    state = state_of(args)
    if not state.empty:
        return state
    session = extension.session()
    if view_id is not None:
        view = saved_views.get_view(session, user_id, view_id)
        return view.state
    default = saved_views.default_view(session, user_id, record_type)
    return default.state if default is not None else state


class RecordSchema(ma.Schema):
    """Dumps the declared fields and passes every other key of the presented record through
    (custom fields' values, already plain and already filtered by field access)."""

    class Meta:
        # the description allows the tenant's custom fields (additionalProperties)
        unknown = ma.INCLUDE

    @ma.post_dump(pass_original=True)
    def _custom(self, data: dict[str, Any], original: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(original, dict):
            for key, value in original.items():
                if key not in data and key not in self.fields:
                    data[key] = value
        return data
