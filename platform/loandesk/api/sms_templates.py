"""``/api/v1/sms-templates``: the tenant's SMS templates (短信模板), each the text with
``{param}`` placeholders as the firm registered it with its SMS provider and the provider's
code for it. Reading needs ``notifications:read``, changing ``notifications:write``; changes
are audited."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.api.schemas import PageArgs, page_of
from loandesk.auth.oauth import require_token
from loandesk.notifications import sms_templates
from loandesk.notifications.models import SmsTemplate

blp = Blueprint(
    "api_sms_templates",
    __name__,
    url_prefix="/sms-templates",
    description="SMS templates (短信模板): the texts the firm registered with its SMS provider, "
    "with {param} placeholders, which code sends with sdk.send_sms.",
)


class SmsTemplateSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    key = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "How code names it (loan.approved); fixed once created"},
    )
    name = ma.fields.String(required=True, validate=validate.Length(max=100))
    text = ma.fields.String(
        required=True,
        validate=validate.Length(max=500),
        metadata={"description": "As registered with the provider, {param} placeholders"},
    )
    provider_code = ma.fields.String(
        required=True,
        validate=validate.Length(max=100),
        metadata={"description": "The provider's code for it (SMS_123456789, 1234567)"},
    )
    enabled = ma.fields.Boolean(load_default=True)
    placeholders = ma.fields.List(
        ma.fields.String(), dump_only=True, metadata={"description": "In order of appearance"}
    )
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class SmsTemplateChangeSchema(SmsTemplateSchema):
    class Meta:
        exclude = ("key",)


SmsTemplatePage = page_of(SmsTemplateSchema, "SmsTemplatePage")


def _dump(row: SmsTemplate) -> dict[str, Any]:
    return {
        **{name: getattr(row, name) for name in SmsTemplateSchema().fields if hasattr(row, name)},
        "placeholders": sms_templates.placeholders(row.text),
    }


@blp.route("")
class Templates(MethodView):
    @require_token("notifications:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SmsTemplatePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The SMS templates, by key, a page at a time."""
        rows, total = sms_templates.page(
            extension.session(), page=args["page"], per_page=args["per_page"]
        )
        return {
            "items": [_dump(r) for r in rows],
            "page": args["page"],
            "per_page": args["per_page"],
            "total": total,
        }

    @require_token("notifications:write")
    @blp.arguments(SmsTemplateSchema)
    @blp.response(201, SmsTemplateSchema)
    @blp.alt_response(409, description="A template with this key exists already")
    @blp.alt_response(422, description="A value that is not valid, named by its field")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Add an SMS template. Audited."""
        session = extension.session()
        row = sms_templates.create(session, args)
        session.commit()
        return _dump(row)


@blp.route("/<uuid:template_id>")
class OneTemplate(MethodView):
    @require_token("notifications:read")
    @blp.response(200, SmsTemplateSchema)
    @blp.alt_response(404, description="No such template")
    def get(self, template_id: uuid.UUID) -> dict[str, Any]:
        """One SMS template."""
        return _dump(sms_templates.get(extension.session(), template_id))

    @require_token("notifications:write")
    @blp.arguments(SmsTemplateChangeSchema(partial=True))
    @blp.response(200, SmsTemplateSchema)
    @blp.alt_response(404, description="No such template")
    @blp.alt_response(422, description="A value that is not valid, named by its field")
    def patch(self, args: dict[str, Any], template_id: uuid.UUID) -> dict[str, Any]:
        """Change a template's name, text, provider code or enabled (the key stays). Audited;
        messages already queued keep what they were given."""
        session = extension.session()
        row = sms_templates.update(session, sms_templates.get(session, template_id), args)
        session.commit()
        return _dump(row)

    @require_token("notifications:write")
    @blp.response(204)
    @blp.alt_response(404, description="No such template")
    def delete(self, template_id: uuid.UUID) -> None:
        """Remove a template. Audited; messages sent with it keep its key, code and text."""
        session = extension.session()
        sms_templates.delete(session, sms_templates.get(session, template_id))
        session.commit()
