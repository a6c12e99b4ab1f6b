"""``/api/v1/views``: the acting staff member's saved list views (保存的视图).

A view names the columns, filters and sort of one record type's list; a list endpoint
applies it with ``?view=<id>``, and the staff member's default view when no list argument is
given. Views are private to their staff member: another one's view is 404.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.api.lists import FILTER_HELP
from loandesk.auth.oauth import require_token
from loandesk.fields import saved_views
from loandesk.fields.lists import RecordList
from loandesk.fields.saved_views import ListView
from loandesk.rbac.current import acting_user, record_access

blp = Blueprint(
    "api_views",
    __name__,
    url_prefix="/views",
    description="Saved list views of the staff member the client acts for: columns, filters "
    "and sort of a record type's list, by name.",
)


class ViewSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    record_type = ma.fields.String(
        required=True, metadata={"description": "The record type listed, e.g. customer"}
    )
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    columns = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={"description": "Field keys in order (empty: the list's default columns)"},
    )
    filters = ma.fields.List(
        ma.fields.String(), load_default=list, metadata={"description": FILTER_HELP}
    )
    sort = ma.fields.String(
        load_default="", metadata={"description": "A field key, `-` first for descending"}
    )
    is_default = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Opens when the list is shown without list arguments"},
    )
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ViewUpdateSchema(ViewSchema):
    class Meta:
        exclude = ("record_type",)


class ViewListArgs(ma.Schema):
    record_type = ma.fields.String(
        load_default=None, metadata={"description": "Only the views of this record type"}
    )


ViewList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(ViewSchema))}, name="ViewList"
)


def _listing(record_type: str) -> RecordList:
    access = record_access(record_type)  # 404 for a record type no enabled plugin brings
    access.require_read()
    return RecordList(access)


@blp.route("")
class Views(MethodView):
    @require_token("records:read")
    @blp.arguments(ViewListArgs, location="query")
    @blp.response(200, ViewList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The acting staff member's views, by record type and name."""
        user = acting_user()
        return {"items": saved_views.views_of(extension.session(), user.id, args["record_type"])}

    @require_token("records:write")
    @blp.arguments(ViewSchema)
    @blp.response(201, ViewSchema)
    @blp.alt_response(422, description="A column, filter or sort the staff member may not use")
    def post(self, args: dict[str, Any]) -> ListView:
        """Save a view; ``is_default`` makes it the one the list opens with."""
        user = acting_user()
        session = extension.session()
        listing = _listing(args.pop("record_type"))
        view = saved_views.save_view(session, listing, user.id, args)
        session.commit()
        return view


@blp.route("/<uuid:view_id>")
class ViewById(MethodView):
    @require_token("records:read")
    @blp.response(200, ViewSchema)
    def get(self, view_id: uuid.UUID) -> ListView:
        """One of the acting staff member's views."""
        return saved_views.get_view(extension.session(), acting_user().id, view_id)

    @require_token("records:write")
    @blp.arguments(ViewUpdateSchema(partial=True))
    @blp.response(200, ViewSchema)
    @blp.alt_response(422, description="A column, filter or sort the staff member may not use")
    def patch(self, args: dict[str, Any], view_id: uuid.UUID) -> ListView:
        """Rename a view, change what it shows, or make it (or stop it being) the default."""
        session = extension.session()
        view = saved_views.get_view(session, acting_user().id, view_id)
        saved_views.save_view(session, _listing(view.record_type), view.user_id, args, view=view)
        session.commit()
        return view

    @require_token("records:write")
    @blp.response(204)
    def delete(self, view_id: uuid.UUID) -> None:
        """Delete a view."""
        session = extension.session()
        saved_views.delete_view(session, saved_views.get_view(session, acting_user().id, view_id))
        session.commit()
