"""``/api/v1/applications``: loan applications, as the staff member the API client acts for may
see them. The tenant's custom fields are read and written under their keys beside the
built-in ones; amounts are strings (``"50000.00"``), never JSON numbers."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_intake import documents, exposure, service
from loandesk_intake.models import STATUSES, Application

blp = Blueprint(
    "intake",
    __name__,
    url_prefix="/applications",
    description="Loan applications (借款申请). Built-in fields: customer_id, amount, "
    "term_months; the tenant's custom fields under their keys (GET /record-types/application/"
    "form lists them). Data scope and field permissions of the acting staff member apply.",
)


class DocumentSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String(metadata={"description": ", ".join(k for k, _, _ in documents.KINDS)})
    filename = ma.fields.String()
    attachment_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    download_url = ma.fields.Method("_download_url")

    def _download_url(self, row: Any) -> str:
        return f"/api/v1/applications/{row.application_id}/documents/{row.id}/content"


class OpenApplicationSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    status = ma.fields.String()
    amount = ma.fields.Decimal(as_string=True, places=2)


class ExposureSchema(ma.Schema):
    others = ma.fields.List(
        ma.fields.Nested(OpenApplicationSchema),
        metadata={"description": "Open applications of the same ID number (this one excluded)"},
    )
    applications_amount = ma.fields.Decimal(as_string=True, places=2)
    elsewhere = ma.fields.Decimal(
        as_string=True, places=2, metadata={"description": "What other modules count (loans)"}
    )
    total = ma.fields.Decimal(
        as_string=True, places=2, metadata={"description": "All of it with this application"}
    )
    limit = ma.fields.Decimal(as_string=True, places=2, allow_none=True)


class ApplicationSchema(sdk.RecordSchema):
    """Every field the acting staff member may see (absent when hidden), custom ones
    included under their keys."""

    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "SQ + date + sequence"})
    customer_id = ma.fields.String()
    amount = ma.fields.String(metadata={"description": 'e.g. "50000.00"'})
    term_months = ma.fields.Integer()
    product_id = ma.fields.String(allow_none=True)
    status = ma.fields.String(
        metadata={
            "description": "draft, submitted (in approval), in_review (an approver has acted), "
            "returned (sent back to the submitter), approved, rejected, withdrawn or "
            "contracted (its contract signed)"
        }
    )
    owner_id = ma.fields.String()
    org_unit_id = ma.fields.String()
    created_at = ma.fields.String()
    submitted_at = ma.fields.String(allow_none=True)
    masked = ma.fields.List(ma.fields.String(), metadata={"description": "Fields shown masked"})
    documents = ma.fields.List(
        ma.fields.Nested(DocumentSchema), metadata={"description": "One application only"}
    )
    exposure = ma.fields.Nested(
        ExposureSchema,
        metadata={
            "description": "One application only: the borrower's other open "
            "applications and total exposure"
        },
    )


class ApplicationWriteSchema(sdk.RecordWriteSchema):
    """Built-in fields below; custom fields are accepted under their keys and checked by the
    tenant's published application form (422 naming the field otherwise)."""

    customer_id = ma.fields.Raw(metadata={"description": "The customer's id"})
    product_id = ma.fields.Raw(
        metadata={
            "description": "The product's id (GET /applications/products); required to "
            "submit once the tenant keeps products; amount and term must fit its limits"
        }
    )
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
    product = str(application.product_id) if application.product_id else None
    return {"id": application.id, **values, "product_id": product, "masked": masked}


def present_one(
    application: Application, access: sdk.RecordAccess, keys: sdk.Keyring
) -> dict[str, Any]:
    """One application with its documents and the borrower's exposure."""
    session = sdk.session()
    product = (
        service.products.get_product(session, application.product_id)
        if application.product_id
        else None
    )
    found = exposure.exposure_of(
        session,
        application.customer_id,
        application.amount,
        product=product,
        exclude=application.id,
    )
    return {
        **present(application, access, keys),
        "documents": documents.documents_of(session, application),
        "exposure": found,
    }


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
    @blp.alt_response(
        200, description="An Idempotency-Key used before: the application it created, unchanged"
    )
    def post(self, args: dict[str, Any]) -> Any:
        """A new draft application owned by the acting staff member. Send an
        ``Idempotency-Key`` header (1-100 characters, unique per request, e.g. a UUID or the
        partner's own reference) so that a retried request never creates a second
        application: the same key again answers 200 with the application it created (and
        ``Idempotent-Replayed: true``). 422 names ``amount`` or ``term_months`` outside the
        product's limits, or ``amount`` over the borrower's exposure limit."""
        access, keys, form = _context()
        key = _idempotency_key()
        user = sdk.acting_user_with("intake.create")
        existing = service.find_by_idempotency_key(sdk.session(), key, user.id)
        application = existing or service.create_application(
            sdk.session(),
            access,
            keys,
            form,
            args,
            owner_id=sdk.acting_user().id,
            context=sdk.value_context(),
            idempotency_key=key,
        )
        body = present_one(application, access, keys)
        sdk.session().commit()
        if existing is not None:
            return body, 200, {"Idempotent-Replayed": "true"}
        return body


@blp.route("/<uuid:application_id>")
class ApplicationById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ApplicationSchema)
    def get(self, application_id: uuid.UUID) -> dict[str, Any]:
        """One application (404 outside the acting staff member's scope)."""
        access, keys, _ = _context()
        application = service.get_application(sdk.session(), access, application_id)
        shown = present_one(application, access, keys)
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
        shown = present_one(application, access, keys)
        sdk.session().commit()
        return shown


@blp.route("/<uuid:application_id>/submit")
class Submit(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(
        422,
        description="Incomplete: errors name each required field left empty (its key), "
        "product_id, and each required document missing (documents.<kind>); or amount "
        "outside the product's limits or over the exposure limit. Nothing is changed.",
    )
    @blp.alt_response(409, description="Already submitted")
    def post(self, application_id: uuid.UUID) -> dict[str, Any]:
        """Submit a draft (or one sent back) for review, after the completeness check."""
        access, keys, form = _context()
        application = service.get_application(sdk.session(), access, application_id)
        service.submit(sdk.session(), access, form, application)
        shown = present_one(application, access, keys)
        sdk.session().commit()
        return shown


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 100 or not key.isprintable():
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"Idempotency-Key": [sdk.message(sdk.N_("Send 1 to 100 characters."))]},
        )
    return key


from loandesk_intake import api_documents, api_products  # noqa: E402, F401  (their routes)
