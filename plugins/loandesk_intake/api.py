"""``/api/v1/applications``: loan applications, as the staff member the API client acts for may
see them. The tenant's custom fields are read and written under their keys beside the
built-in ones; amounts are strings (``"50000.00"``), never JSON numbers."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_intake import service
from loandesk_intake.models import STATUSES

blp = Blueprint(
    "intake",
    __name__,
    url_prefix="/applications",
    description="Loan applications (借款申请). Built-in fields: customer_id, amount, "
    "term_months; the tenant's custom fields under their keys (GET /record-types/application/"
    "form lists them). Data scope and field permissions of the acting staff member apply.",
)


class ApplicationSchema(sdk.RecordSchema):
    """Every field the acting staff member may see (absent when hidden), custom ones
    included under their keys."""

    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "SQ + date + sequence"})
    customer_id = ma.fields.String()
    amount = ma.fields.String(metadata={"description": 'e.g. "50000.00"'})
    term_months = ma.fields.Integer()
    status = ma.fields.String(
        metadata={
            "description": "draft, submitted (in approval), returned (sent back to the submitter), "
            "approved, rejected or withdrawn"
        }
    )
    owner_id = ma.fields.String()
    org_unit_id = ma.fields.String()
    created_at = ma.fields.String()
    submitted_at = ma.fields.String(allow_none=True)
    masked = ma.fields.List(ma.fields.String(), metadata={"description": "Fields shown masked"})


class ApplicationWriteSchema(sdk.RecordWriteSchema):
    """Built-in fields below; custom fields are accepted under their keys and checked by the
    tenant's published application form (422 naming the field otherwise)."""

    customer_id = ma.fields.Raw(metadata={"description": "The customer's id"})
    amount = ma.fields.Raw(metadata={"description": 'An amount as a string: "50000.00"'})
    term_months = ma.fields.Raw(metadata={"description": "Months, 1 to 360"})


class ApplicationListArgs(sdk.ListArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    customer_id = ma.fields.UUID(load_default=None)


def present(
    application: Any, access: sdk.RecordAccess, keys: sdk.Keyring, columns: Any = None
) -> dict[str, Any]:
    values = access.present(application, keys, fields=columns, plain=True)
    masked = [k for k in access.masked_fields() if k in values]
    return {"id": application.id, **values, "masked": masked}


def _context() -> tuple[sdk.RecordAccess, sdk.Keyring, sdk.Form]:
    return sdk.record_access("application"), sdk.keyring(), sdk.current_form("application")


@blp.route("")
class Applications(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(ApplicationListArgs, location="query")
    @blp.response(200, sdk.page_of(ApplicationSchema, "ApplicationPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Applications in the acting staff member's data scope, newest first unless ``sort``
        says otherwise; ``columns``, ``filter`` and ``view`` shape the list."""
        access, keys, _ = _context()
        state = sdk.list_state(args, sdk.acting_user().id, "application")
        page = service.list_applications(sdk.session(), access, keys, state=state, **args)
        columns = page.listed.columns if page.listed and state.columns else None
        items = [present(a, access, keys, columns) for a in page.items]
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}

    @sdk.require_token("records:write")
    @blp.arguments(ApplicationWriteSchema)
    @blp.response(201, ApplicationSchema)
    @blp.alt_response(422, description="A field is missing or wrong (named in errors)")
    @blp.alt_response(403, description="A field the acting staff member may not edit")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """A new draft application owned by the acting staff member."""
        access, keys, form = _context()
        if not sdk.acting_user().can("intake.create"):
            raise sdk.Forbidden(
                sdk.N_("You lack the permission %(permission)s."),
                params={"permission": "intake.create"},
            )
        application = service.create_application(
            sdk.session(),
            access,
            keys,
            form,
            args,
            owner_id=sdk.acting_user().id,
            context=sdk.value_context(),
        )
        sdk.session().commit()
        return present(application, access, keys)


@blp.route("/<uuid:application_id>")
class ApplicationById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ApplicationSchema)
    def get(self, application_id: uuid.UUID) -> dict[str, Any]:
        """One application (404 outside the acting staff member's scope)."""
        access, keys, _ = _context()
        application = service.get_application(sdk.session(), access, application_id)
        shown = present(application, access, keys)
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return shown

    @sdk.require_token("records:write")
    @blp.arguments(ApplicationWriteSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(409, description="The application is no longer a draft")
    def patch(self, args: dict[str, Any], application_id: uuid.UUID) -> dict[str, Any]:
        """Change fields of a draft; ``null`` clears an optional one."""
        access, keys, form = _context()
        application = service.get_application(sdk.session(), access, application_id)
        service.update_application(
            sdk.session(), access, keys, form, application, args, context=sdk.value_context()
        )
        sdk.session().commit()
        return present(application, access, keys)


@blp.route("/<uuid:application_id>/submit")
class Submit(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(422, description="Required fields are empty (named in errors)")
    def post(self, application_id: uuid.UUID) -> dict[str, Any]:
        """Submit a draft for review."""
        access, keys, form = _context()
        application = service.get_application(sdk.session(), access, application_id)
        service.submit(sdk.session(), access, form, application)
        sdk.session().commit()
        return present(application, access, keys)
