"""``/api/v1/customers``: customers, as the staff member the API client acts for may see them.

Every response holds only the fields that staff member may see; masked ones are masked and
named in ``masked``. Amounts are strings (``"8500.00"``), never JSON numbers.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_customers import consents, service
from loandesk_customers.record_type import CUSTOMER

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/customers",
    description="Customers (客户). Data scope and field permissions of the staff member the "
    "client acts for apply to every read and write.",
)


def _value_field(description: str) -> ma.fields.Field:
    return ma.fields.String(allow_none=True, metadata={"description": description})


# Custom fields of the tenant appear under their keys too (``sdk.RecordSchema``), as the
# acting staff member may see them.
CustomerSchema = sdk.RecordSchema.from_dict(
    {
        "id": ma.fields.UUID(),
        **{
            spec.key: _value_field(f"{spec.label_en} ({spec.label_zh}); absent when hidden")
            for spec in CUSTOMER.fields
        },
        "masked": ma.fields.List(
            ma.fields.String(), metadata={"description": "Fields shown masked"}
        ),
        "merged_into_id": ma.fields.UUID(
            allow_none=True,
            metadata={"description": "Present when this record was merged into that customer"},
        ),
    },
    name="Customer",
)


class CustomerWriteSchema(sdk.RecordWriteSchema):
    """The built-in fields; the tenant's custom fields are accepted under their keys too
    (checked by the tenant's form: an unknown key is a 422 naming it)."""

    name = ma.fields.String()
    id_number = ma.fields.String(allow_none=True)
    mobile = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    bank_card = ma.fields.String(allow_none=True)
    employer = ma.fields.String(allow_none=True)
    monthly_income = ma.fields.Raw(
        allow_none=True, metadata={"description": 'An amount as a string: "8500.00"'}
    )
    marital_status = ma.fields.String(
        allow_none=True, metadata={"description": "unmarried, married, divorced or widowed"}
    )
    notes = ma.fields.String(allow_none=True)
    id_photo_front = ma.fields.String(
        allow_none=True, metadata={"description": "An uploaded image's id (POST /attachments)"}
    )
    id_photo_back = ma.fields.String(
        allow_none=True, metadata={"description": "An uploaded image's id (POST /attachments)"}
    )


class CustomerCreateSchema(CustomerWriteSchema):
    owner_id = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "The credit officer; default: the acting staff member. "
            "Another one needs the customers.assign permission"
        },
    )


class CustomerListArgs(sdk.ListArgs):
    q = ma.fields.String(
        load_default="",
        metadata={"description": "Part of a name, or a whole mobile or ID number"},
    )
    status = ma.fields.String(load_default=None, validate=validate.OneOf(["active", "closed"]))
    owner_id = ma.fields.UUID(load_default=None)


class AssignSchema(ma.Schema):
    owner_id = ma.fields.UUID(required=True)


class StatusSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=validate.OneOf(["active", "closed"]))


def present(
    customer: Any,
    access: sdk.RecordAccess,
    keys: sdk.Keyring,
    fields: list[sdk.FieldSpec] | None = None,
) -> dict[str, Any]:
    values = access.present(customer, keys, fields=fields, plain=True)
    masked = [k for k in access.masked_fields() if k in values]
    shown = {"id": customer.id, **values, "masked": masked}
    if customer.merged_into_id is not None:
        shown["merged_into_id"] = customer.merged_into_id
    return shown


def _require(permission: str) -> None:
    if not sdk.acting_user().can(permission):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."), params={"permission": permission}
        )


@blp.route("")
class Customers(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, sdk.page_of(CustomerSchema, "CustomerPage"))
    @blp.alt_response(403, description="The acting staff member may not see customers")
    @blp.alt_response(
        422, description="A column, filter or sort that is unknown, hidden or does not fit"
    )
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Customers in the acting staff member's data scope, newest first unless ``sort``
        says otherwise; ``columns``, ``filter`` and ``view`` shape the list."""
        access, keys = sdk.record_access("customer"), sdk.keyring()
        state = sdk.list_state(args, sdk.acting_user().id, "customer")
        page = service.list_customers(sdk.session(), access, keys, state=state, **args)
        columns = page.listed.columns if page.listed and state.columns else None
        items = [present(c, access, keys, columns) for c in page.items]
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}

    @sdk.require_token("records:write")
    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerSchema)
    @blp.alt_response(403, description="A field the acting staff member may not edit")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """A new customer (needs the customers.create permission)."""
        _require("customers.create")
        user = sdk.acting_user()
        owner_id = args.pop("owner_id") or user.id
        if owner_id != user.id:
            _require("customers.assign")
        access, keys = sdk.record_access("customer"), sdk.keyring()
        customer = service.create_customer(sdk.session(), access, keys, args, owner_id=owner_id)
        result = present(customer, access, keys)
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return result


@blp.route("/export")
class CustomerExport(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    @blp.alt_response(403, description="The acting staff member may export no customer field")
    def get(self, args: dict[str, Any]) -> Response:
        """The customers of the list as CSV (UTF-8 with BOM, for Excel), with only the fields
        the acting staff member may export; up to 10,000 rows."""
        return export_csv(sdk.record_access("customer"), args, locale="en")


@blp.route("/export.xlsx")
class CustomerExportExcel(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=sdk.XLSX_MIMETYPE)
    @blp.alt_response(403, description="The acting staff member may export no customer field")
    def get(self, args: dict[str, Any]) -> Response:
        """The customers of the list as an Excel workbook, with only the fields the acting
        staff member may export (masked ones masked); up to 10,000 rows."""
        return export_xlsx(sdk.record_access("customer"), args, locale="en")


@blp.route("/<uuid:customer_id>")
class CustomerById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, CustomerSchema)
    def get(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """One customer (404 when outside the acting staff member's data scope)."""
        access, keys = sdk.record_access("customer"), sdk.keyring()
        result = present(service.get_customer(sdk.session(), access, customer_id), access, keys)
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return result

    @sdk.require_token("records:write")
    @blp.arguments(CustomerWriteSchema)
    @blp.response(200, CustomerSchema)
    @blp.alt_response(403, description="A field the acting staff member may not edit")
    def patch(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Change some fields; one the acting staff member may not edit refuses the whole
        change with 403 naming it."""
        access, keys = sdk.record_access("customer"), sdk.keyring()
        customer = service.get_customer(sdk.session(), access, customer_id)
        service.update_customer(sdk.session(), access, keys, customer, args)
        result = present(customer, access, keys)
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return result


@blp.route("/<uuid:customer_id>/assign")
class CustomerAssign(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(AssignSchema)
    @blp.response(200, CustomerSchema)
    def post(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Give the customer to another credit officer (customers.assign)."""
        _require("customers.assign")
        access, keys = sdk.record_access("customer"), sdk.keyring()
        customer = service.get_customer(sdk.session(), access, customer_id)
        service.assign(sdk.session(), access, customer, args["owner_id"])
        sdk.session().commit()
        return present(customer, access, keys)


@blp.route("/<uuid:customer_id>/status")
class CustomerStatus(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(StatusSchema)
    @blp.response(200, CustomerSchema)
    def post(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Close the relationship (the retention clock starts) or reopen it (customers.close)."""
        _require("customers.close")
        access, keys = sdk.record_access("customer"), sdk.keyring()
        customer = service.get_customer(sdk.session(), access, customer_id)
        service.set_status(sdk.session(), access, customer, args["status"])
        sdk.session().commit()
        return present(customer, access, keys)


EXPORT_LIMIT = 10_000


def export_csv(access: sdk.RecordAccess, args: dict[str, Any], *, locale: str) -> Response:
    """The one export of customers, for the API and the web alike."""
    fields = access.export_fields()
    keys = sdk.keyring()
    args = {k: v for k, v in args.items() if k not in ("page", "per_page")}
    state = sdk.list_state(args, sdk.acting_user().id, "customer")
    page = service.list_customers(
        sdk.session(), access, keys, state=state, page=1, per_page=EXPORT_LIMIT, **args
    )
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([f.label(locale) for f in fields])
    for customer in page.items:
        values = access.present(customer, keys, fields=fields, plain=True)
        writer.writerow([_cell(values.get(f.key)) for f in fields])
    access.audit_shown(sdk.session(), "export")
    sdk.audit_record(
        sdk.session(),
        "customer.export",
        "customer",
        None,
        {
            "rows": len(page.items),
            "fields": [f.key for f in fields],
            "filters": {**args, **state.as_json()},
        },
    )
    sdk.session().commit()
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_xlsx(
    access: sdk.RecordAccess,
    args: dict[str, Any],
    *,
    locale: str,
    translate: Any = lambda text: text,
) -> Response:
    """The customers of the list (its filters apply) as an .xlsx, audited like the CSV."""
    keys, session = sdk.keyring(), sdk.session()
    access.export_fields()  # Forbidden before anything is read
    args = {k: v for k, v in args.items() if k not in ("page", "per_page")}
    state = sdk.list_state(args, sdk.acting_user().id, "customer")
    page = service.list_customers(
        session, access, keys, state=state, page=1, per_page=EXPORT_LIMIT, **args
    )
    names = {
        "owner_id": sdk.display_names(session, (c.owner_id for c in page.items)),
        "org_unit_id": sdk.unit_names(session, (c.org_unit_id for c in page.items)),
    }
    data, fields, count = sdk.export_workbook(
        access,
        page.items,
        keys,
        locale=locale,
        timezone=sdk.current().timezone,
        translate=translate,
        names=names,
    )
    access.audit_shown(session, "export")
    sdk.audit_record(
        session,
        "customer.export",
        "customer",
        None,
        {"rows": count, "fields": [f.key for f in fields], "filters": args, "format": "xlsx"},
    )
    session.commit()
    return Response(
        data,
        mimetype=sdk.XLSX_MIMETYPE,
        headers={"Content-Disposition": 'attachment; filename="customers.xlsx"'},
    )


# --- consent records ---------------------------------------------------------------------------


class ConsentSchema(ma.Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    purpose = ma.fields.String(metadata={"description": "credit_query, personal_info, marketing"})
    text_version = ma.fields.String()
    text_hash = ma.fields.String(allow_none=True)
    agreed_at = ma.fields.DateTime()
    channel = ma.fields.String(metadata={"description": "web, paper, app"})
    evidence_id = ma.fields.UUID(allow_none=True)
    recorded_by_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)
    valid = ma.fields.Boolean(metadata={"description": "Counts now: agreed and not withdrawn"})


class ConsentCreateSchema(ma.Schema):
    """Checked by the service (a 422 names each field that needs attention)."""

    purpose = ma.fields.String(
        load_default=None,
        metadata={"description": "credit_query (征信查询授权), personal_info, marketing"},
    )
    text_version = ma.fields.String(
        load_default=None, metadata={"description": "The version of the consent text agreed to"}
    )
    text_hash = ma.fields.String(
        load_default=None, metadata={"description": "SHA-256 (hex) of the text as shown"}
    )
    agreed_at = ma.fields.AwareDateTime(load_default=None)
    channel = ma.fields.String(load_default=None, metadata={"description": "web, paper, app"})
    evidence_id = ma.fields.UUID(
        load_default=None, metadata={"description": "An attachment: the signed form"}
    )


class ConsentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsentSchema))


def present_consent(consent: Any) -> dict[str, Any]:
    return {
        **{key: getattr(consent, key) for key in ConsentSchema().fields if key != "valid"},
        "valid": consent.withdrawn_at is None and consent.agreed_at <= sdk.utcnow(),
    }


@blp.route("/<uuid:customer_id>/consents")
class CustomerConsents(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ConsentListSchema)
    def get(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """The customer's consent records, newest first, withdrawn ones included."""
        access = sdk.record_access("customer")
        customer = service.get_customer(sdk.session(), access, customer_id)
        found = consents.consents_of(sdk.session(), access, customer)
        return {"items": [present_consent(c) for c in found]}

    @sdk.require_token("records:write")
    @blp.arguments(ConsentCreateSchema)
    @blp.response(201, ConsentSchema)
    @blp.alt_response(403, description="The acting staff member lacks customers.consent")
    @blp.alt_response(422, description="A field that needs attention, named in ``errors``")
    def post(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Record that the customer agreed (customers.consent)."""
        access = sdk.record_access("customer")
        customer = service.get_customer(sdk.session(), access, customer_id)
        consent = consents.record_consent(sdk.session(), access, customer, args)
        sdk.session().commit()
        return present_consent(consent)


@blp.route("/<uuid:customer_id>/consents/<uuid:consent_id>/withdraw")
class CustomerConsentWithdraw(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, ConsentSchema)
    @blp.alt_response(409, description="Withdrawn already")
    def post(self, customer_id: uuid.UUID, consent_id: uuid.UUID) -> dict[str, Any]:
        """Record that the customer withdrew the consent (customers.consent); it no longer
        counts from now on."""
        access = sdk.record_access("customer")
        customer = service.get_customer(sdk.session(), access, customer_id)
        consent = consents.withdraw_consent(sdk.session(), access, customer, consent_id)
        sdk.session().commit()
        return present_consent(consent)
