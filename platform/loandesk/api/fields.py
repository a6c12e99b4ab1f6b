"""``/api/v1/record-types``: record types, their fields (built-in and custom) and forms.

Custom fields are edited in a working copy and take effect when the form is published
(``POST /record-types/{type}/form/publish``), as in the web form builder.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.fields import definitions
from loandesk.fields.current import current_form
from loandesk.fields.forms import definition_dict, draft_layout, section_dict, working_rows
from loandesk.fields.registry import RecordType
from loandesk.plugins import runtime as plugin_runtime

blp = Blueprint(
    "api_fields",
    __name__,
    url_prefix="/record-types",
    description="Record types and their fields (字段): built-in ones that plugins declare and "
    "custom ones a tenant adds; forms are versioned and published.",
)


class OptionSchema(ma.Schema):
    value = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()


class FieldOutSchema(ma.Schema):
    key = ma.fields.String()
    kind = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    help_zh = ma.fields.String()
    help_en = ma.fields.String()
    required = ma.fields.Boolean()
    default = ma.fields.Raw(allow_none=True)
    rules = ma.fields.Dict()
    section = ma.fields.String()
    condition = ma.fields.String()
    expression = ma.fields.String()
    searchable = ma.fields.Boolean()
    custom = ma.fields.Boolean(metadata={"description": "False for a plugin's built-in field"})
    removed = ma.fields.Boolean(metadata={"description": "Hidden from the next version on"})


class SectionOutSchema(ma.Schema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    field_keys = ma.fields.List(ma.fields.String(), data_key="fields")


class RecordTypeSchema(ma.Schema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    version = ma.fields.Integer(allow_none=True, metadata={"description": "Published form version"})
    unpublished_changes = ma.fields.Boolean()


class FormSchema(ma.Schema):
    record_type = ma.fields.String()
    version = ma.fields.Integer(allow_none=True)
    sections = ma.fields.List(ma.fields.Nested(SectionOutSchema))
    all_fields = ma.fields.List(ma.fields.Nested(FieldOutSchema), data_key="fields")


class FieldUpdateSchema(definitions.DefinitionSchema):
    class Meta:
        exclude = ("key",)


class LayoutEntrySchema(ma.Schema):
    section = ma.fields.String(required=True, metadata={"description": '"" for the basic section'})
    field_keys = ma.fields.List(ma.fields.String(), required=True, data_key="fields")


class LayoutSchema(ma.Schema):
    layout = ma.fields.List(ma.fields.Nested(LayoutEntrySchema), required=True)


class PublishSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=200))


class VersionSchema(ma.Schema):
    number = ma.fields.Integer()
    note = ma.fields.String()
    published_at = ma.fields.DateTime()
    published_by_id = ma.fields.UUID(allow_none=True)
    field_keys = ma.fields.List(
        ma.fields.String(), data_key="fields", metadata={"description": "Custom field keys"}
    )


RecordTypeList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(RecordTypeSchema))}, name="RecordTypeList"
)
FieldList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(FieldOutSchema))}, name="FieldList"
)
VersionList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(VersionSchema))}, name="FormVersionList"
)


def _record_type(key: str) -> RecordType:
    return plugin_runtime.record_type(key)


def _record_type_keys() -> list[str]:
    return [t.key for t in plugin_runtime.record_types()]


def _builtin(spec: Any) -> dict[str, Any]:
    return {
        "key": spec.key,
        "kind": spec.kind,
        "label_zh": spec.label_zh,
        "label_en": spec.label_en,
        "required": spec.required,
        "rules": {
            "options": [{"value": v, "label_zh": z, "label_en": e} for v, z, e in spec.options]
        }
        if spec.options
        else {},
        "section": "",
        "custom": False,
        "removed": False,
    }


def _working(record_type: RecordType) -> list[dict[str, Any]]:
    _, rows = working_rows(extension.session(), record_type.key)
    return [
        {**definition_dict(r), "custom": True, "removed": r.removed_at is not None} for r in rows
    ]


def _user_id() -> Any:
    token = g.get("api_token")
    return token.client.acts_as_id if token is not None else None


@blp.route("")
class RecordTypes(MethodView):
    @require_token("fields:read")
    @blp.response(200, RecordTypeList)
    def get(self) -> dict[str, Any]:
        """The record types of the tenant's enabled plugins."""
        session = extension.session()
        return {
            "items": [
                {
                    "key": t.key,
                    "label_zh": t.label_zh,
                    "label_en": t.label_en,
                    "version": current_form(t).version,
                    "unpublished_changes": definitions.has_unpublished_changes(session, t.key),
                }
                for t in plugin_runtime.record_types()
            ]
        }


@blp.route("/<record_type>/form")
class PublishedForm(MethodView):
    @require_token("fields:read")
    @blp.response(200, FormSchema)
    def get(self, record_type: str) -> dict[str, Any]:
        """The form in force: sections in order and every field, built-in first."""
        form = current_form(_record_type(record_type))
        custom = {f["key"]: f for f in _published_fields(form)}
        return {
            "record_type": record_type,
            "version": form.version,
            "sections": [
                {
                    "key": s.key,
                    "label_zh": s.label_zh,
                    "label_en": s.label_en,
                    "field_keys": list(s.fields),
                }
                for s in form.sections
            ],
            "all_fields": [custom.get(f.key) or _builtin(f) for f in form.fields],
        }


def _published_fields(form: Any) -> list[dict[str, Any]]:
    from loandesk.fields.forms import latest_version

    version = latest_version(extension.session(), form.record_type.key)
    if version is None:
        return []
    return [{**f, "custom": True, "removed": False} for f in version.layout["fields"]]


@blp.route("/<record_type>/fields")
class Fields(MethodView):
    @require_token("fields:read")
    @blp.response(200, FieldList)
    def get(self, record_type: str) -> dict[str, Any]:
        """Built-in fields, then the working copy of custom fields (removed ones included)."""
        declared = _record_type(record_type)
        return {"items": [_builtin(f) for f in declared.builtin_fields] + _working(declared)}

    @require_token("fields:write")
    @blp.arguments(definitions.DefinitionSchema)
    @blp.response(201, FieldOutSchema)
    @blp.alt_response(422, description="A field of the definition is wrong (named in errors)")
    def post(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Add a custom field to the working copy; publish the form to put it in use."""
        session = extension.session()
        row = definitions.define_field(
            session, _record_type(record_type), args, record_types=_record_type_keys()
        )
        session.commit()
        return {**definition_dict(row), "custom": True, "removed": False}


@blp.route("/<record_type>/fields/<key>")
class FieldByKey(MethodView):
    @require_token("fields:write")
    @blp.arguments(FieldUpdateSchema(partial=True))
    @blp.response(200, FieldOutSchema)
    def patch(self, args: dict[str, Any], record_type: str, key: str) -> dict[str, Any]:
        """Change a custom field (its key and kind are fixed)."""
        session = extension.session()
        row = definitions.update_field(
            session, _record_type(record_type), key, args, record_types=_record_type_keys()
        )
        session.commit()
        return {**definition_dict(row), "custom": True, "removed": row.removed_at is not None}

    @require_token("fields:write")
    @blp.response(204)
    @blp.alt_response(409, description="Another field's condition or formula uses it")
    def delete(self, record_type: str, key: str) -> None:
        """Remove the field from the next version on; stored values are kept."""
        session = extension.session()
        definitions.remove_field(session, _record_type(record_type), key)
        session.commit()


@blp.route("/<record_type>/fields/<key>/restore")
class RestoreField(MethodView):
    @require_token("fields:write")
    @blp.response(200, FieldOutSchema)
    def post(self, record_type: str, key: str) -> dict[str, Any]:
        """Bring a removed field back (with the values records still hold)."""
        session = extension.session()
        row = definitions.restore_field(session, _record_type(record_type), key)
        session.commit()
        return {**definition_dict(row), "custom": True, "removed": False}


@blp.route("/<record_type>/sections")
class Sections(MethodView):
    @require_token("fields:read")
    @blp.response(200, SectionOutSchema(many=True))
    def get(self, record_type: str) -> list[dict[str, Any]]:
        """Sections of the working copy, in order, with their custom fields."""
        layout = draft_layout(extension.session(), _record_type(record_type).key)
        return [
            {**s, "field_keys": [f["key"] for f in layout["fields"] if f["section"] == s["key"]]}
            for s in layout["sections"]
        ]

    @require_token("fields:write")
    @blp.arguments(definitions.SectionSchema)
    @blp.response(200, SectionOutSchema)
    def post(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Add a section, or rename the one with this key."""
        session = extension.session()
        row = definitions.save_section(session, _record_type(record_type), args)
        session.commit()
        return {**section_dict(row), "field_keys": []}


@blp.route("/<record_type>/sections/<key>")
class SectionByKey(MethodView):
    @require_token("fields:write")
    @blp.response(204)
    @blp.alt_response(409, description="The section still holds fields")
    def delete(self, record_type: str, key: str) -> None:
        """Delete an empty section."""
        session = extension.session()
        definitions.delete_section(session, _record_type(record_type), key)
        session.commit()


@blp.route("/<record_type>/layout")
class Layout(MethodView):
    @require_token("fields:write")
    @blp.arguments(LayoutSchema)
    @blp.response(204)
    def put(self, args: dict[str, Any], record_type: str) -> None:
        """Order sections and the custom fields in each (what drag and drop does)."""
        session = extension.session()
        layout = [{"section": e["section"], "fields": e["field_keys"]} for e in args["layout"]]
        definitions.arrange(session, _record_type(record_type), layout)
        session.commit()


@blp.route("/<record_type>/form/publish")
class Publish(MethodView):
    @require_token("fields:write")
    @blp.arguments(PublishSchema)
    @blp.response(201, VersionSchema)
    @blp.alt_response(409, description="Nothing changed since the last version")
    def post(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Publish the working copy as the next form version."""
        session = extension.session()
        version = definitions.publish(
            session, _record_type(record_type), user_id=_user_id(), note=args["note"]
        )
        session.commit()
        return _version(version)


@blp.route("/<record_type>/form/versions")
class Versions(MethodView):
    @require_token("fields:read")
    @blp.response(200, VersionList)
    def get(self, record_type: str) -> dict[str, Any]:
        """Published versions, newest first."""
        rows = definitions.versions(extension.session(), _record_type(record_type).key)
        return {"items": [_version(v) for v in rows]}


def _version(version: Any) -> dict[str, Any]:
    return {
        "number": version.number,
        "note": version.note,
        "published_at": version.published_at,
        "published_by_id": version.published_by_id,
        "field_keys": [f["key"] for f in version.layout["fields"]],
    }
