"""Schemas shared by the API's resources: pagination and its envelope."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

# The last page a list answers: beyond it the offset overflows the database's integers (a
# 500); 100,000 pages of 100 is more than any tenant's list.
MAX_PAGE = 100_000


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A paginated list schema: ``{"items": [...], "page", "per_page", "total"}``."""
    fields: dict[str, Any] = {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "page": ma.fields.Integer(),
        "per_page": ma.fields.Integer(),
        "total": ma.fields.Integer(),
    }
    return ma.Schema.from_dict(fields, name=name)


def paged(found: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    """The page ``args`` asks for of ``found`` (a whole list already in memory: a tenant's
    reports, dashboards, subscriptions), in the envelope of ``page_of``."""
    page, per_page = args["page"], args["per_page"]
    items = found[(page - 1) * per_page : page * per_page]
    return {"items": items, "total": len(found), "page": page, "per_page": per_page}


class RecordWriteSchema(ma.Schema):
    """Base of a record type's write schema: custom fields are accepted under their keys and
    checked, with the built-in ones, by the tenant's published form (422 naming the field)."""

    class Meta:
        unknown = ma.INCLUDE
